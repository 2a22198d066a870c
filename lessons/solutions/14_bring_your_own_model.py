"""Solutions to the exercises of lesson 14."""
import numpy as np


def linear_from_matmul(W_onnx, b):
    return np.ascontiguousarray(W_onnx.T), b.copy()


def fold_std(W, std):
    return W / np.asarray(std).reshape(1, -1, 1, 1)
