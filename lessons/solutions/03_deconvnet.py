"""Solutions to the exercises of lesson 3."""
import numpy as np


def reverse_relu(signal, x, rule):
    if rule == "deconvnet":
        return np.maximum(signal, 0)
    if rule == "gradient":
        return signal * (x > 0)
    return np.maximum(signal, 0) * (x > 0)
