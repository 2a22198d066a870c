"""A correct "lrn" submission written entry by entry in pure Python (lists, no NumPy arithmetic).

The slowest honest style a student may hand in: it must still get full marks, the test at the
size of a real layer included (tests/test_sandbox.py).
"""
import numpy as np

ASSIGNMENT = "lrn"


def _columns(x):
    """Every (n, h, w) position's channel column, as lists."""
    N, C, H, W = x.shape
    xs = x.tolist()
    return [[[[xs[n][c][h][w] for c in range(C)] for w in range(W)] for h in range(H)] for n in range(N)]


def _scales(col, size, alpha, k):
    C = len(col)
    return [k + alpha * sum(v * v for v in col[max(0, c - size // 2):min(C - 1, c + (size - 1) // 2) + 1])
            for c in range(C)]


def lrn(x, size=5, alpha=1e-4, beta=0.75, k=2.0):
    N, C, H, W = x.shape
    out = np.empty(x.shape)
    for n, plane in enumerate(_columns(x)):
        for h, row in enumerate(plane):
            for w, col in enumerate(row):
                s = _scales(col, size, alpha, k)
                out[n, :, h, w] = [col[c] * s[c] ** -beta for c in range(C)]
    return out


def lrn_backward(dy, x, size=5, alpha=1e-4, beta=0.75, k=2.0):
    N, C, H, W = x.shape
    dx = np.empty(x.shape)
    grads = _columns(dy)
    for n, plane in enumerate(_columns(x)):
        for h, row in enumerate(plane):
            for w, col in enumerate(row):
                g, s = grads[n][h][w], _scales(col, size, alpha, k)
                common = [g[j] * col[j] * s[j] ** (-beta - 1) for j in range(C)]
                dx[n, :, h, w] = [g[i] * s[i] ** -beta - 2 * alpha * beta * col[i] * sum(
                    common[max(0, i - (size - 1) // 2):min(C - 1, i + size // 2) + 1]) for i in range(C)]
    return dx
