"""A correct "lrn" submission written channel by channel, not minizf's code; the bank edits it."""
import numpy as np

ASSIGNMENT = "lrn"


def _window(i, size, C):
    return max(0, i - size // 2), min(C - 1, i + (size - 1) // 2)


def _scale(x, size, alpha, k):
    C = x.shape[1]
    s = np.empty_like(x)
    for i in range(C):
        lo, hi = _window(i, size, C)
        s[:, i] = k + alpha * (x[:, lo:hi + 1] ** 2).sum(axis=1)
    return s


def lrn(x, size=5, alpha=1e-4, beta=0.75, k=2.0):
    return x / _scale(x, size, alpha, k) ** beta


def lrn_backward(dy, x, size=5, alpha=1e-4, beta=0.75, k=2.0):
    C = x.shape[1]
    s = _scale(x, size, alpha, k)
    dx = dy * s ** -beta
    for j in range(C):                      # output j depends on the inputs in its window
        lo, hi = _window(j, size, C)
        common = dy[:, j] * x[:, j] * (-beta) * s[:, j] ** (-beta - 1) * alpha * 2
        for i in range(lo, hi + 1):
            dx[:, i] += common * x[:, i]
    return dx
