"""A correct "pool" submission written as plain loops, not minizf's code (its switches are
float64 on purpose: any whole-number dtype is accepted). The bank edits it to make bugs."""
import math

import numpy as np

ASSIGNMENT = "pool"


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _out(size, k, s, p, ceil_mode):
    if ceil_mode:
        n = math.ceil((size + 2 * p - k) / s) + 1
        if (n - 1) * s >= size + p:
            n -= 1
        return n
    return (size + 2 * p - k) // s + 1


def max_pool2d(x, kernel_size, stride=None, pad=0, ceil_mode=False):
    (kh, kw) = _pair(kernel_size)
    (sh, sw) = _pair(kernel_size if stride is None else stride)
    (ph, pw) = _pair(pad)
    N, C, H, W = x.shape
    oh, ow = _out(H, kh, sh, ph, ceil_mode), _out(W, kw, sw, pw, ceil_mode)
    y = np.zeros((N, C, oh, ow))
    switches = np.zeros((N, C, oh, ow))              # float64 switches: allowed
    for n in range(N):
        for ch in range(C):
            for r in range(oh):
                for c in range(ow):
                    best, where = -np.inf, -1
                    for i in range(kh):
                        for j in range(kw):
                            h, w = r * sh - ph + i, c * sw - pw + j
                            if 0 <= h < H and 0 <= w < W and x[n, ch, h, w] > best:
                                best, where = x[n, ch, h, w], h * W + w
                    y[n, ch, r, c], switches[n, ch, r, c] = best, where
    return y, switches


def unpool(signal, switches, input_shape):
    N, C, H, W = input_shape
    out = np.zeros((N, C, H * W))
    for n in range(N):
        for ch in range(C):
            for k, where in enumerate(switches[n, ch].ravel()):
                out[n, ch, int(where)] += signal[n, ch].ravel()[k]
    return out.reshape(N, C, H, W)


def max_pool2d_backward(dy, switches, input_shape):
    return unpool(dy, switches, input_shape)
