"""A correct "conv" submission written as plain loops (CS231n's naive style), not minizf's code.

The bank of wrong solutions (tests/test_course.py) makes its bugs by editing this file.
"""
import numpy as np

ASSIGNMENT = "conv"


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _geometry(x_shape, kernel_size, stride, pad):
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel_size), _pair(stride), _pair(pad)
    oh = (x_shape[2] + 2 * ph - kh) // sh + 1
    ow = (x_shape[3] + 2 * pw - kw) // sw + 1
    return kh, kw, sh, sw, ph, pw, oh, ow


def im2col(x, kernel_size, stride=1, pad=0):
    N, C, H, W = x.shape
    kh, kw, sh, sw, ph, pw, oh, ow = _geometry(x.shape, kernel_size, stride, pad)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    rows = np.zeros((N * oh * ow, kh * kw * C), dtype=x.dtype)
    for n in range(N):
        for r in range(oh):
            for c in range(ow):
                window = xp[n, :, r * sh:r * sh + kh, c * sw:c * sw + kw]     # (C, kh, kw)
                rows[(n * oh + r) * ow + c] = window.transpose(1, 2, 0).ravel()
    return rows


def col2im(cols, x_shape, kernel_size, stride=1, pad=0):
    N, C, H, W = x_shape
    kh, kw, sh, sw, ph, pw, oh, ow = _geometry(x_shape, kernel_size, stride, pad)
    out = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    for n in range(N):
        for r in range(oh):
            for c in range(ow):
                patch = cols[(n * oh + r) * ow + c].reshape(kh, kw, C).transpose(2, 0, 1)
                out[n, :, r * sh:r * sh + kh, c * sw:c * sw + kw] += patch
    return out[:, :, ph:ph + H, pw:pw + W]


def conv2d(x, W, b=None, stride=1, pad=0):
    N = x.shape[0]
    F, C, kh, kw = W.shape
    _, _, _, _, _, _, oh, ow = _geometry(x.shape, (kh, kw), stride, pad)
    rows = im2col(x, (kh, kw), stride, pad)
    y = rows @ W.transpose(0, 2, 3, 1).reshape(F, -1).T                      # (N*oh*ow, F)
    if b is not None:
        y = y + b
    return y.reshape(N, oh, ow, F).transpose(0, 3, 1, 2)


def conv2d_backward(dy, x, W, stride=1, pad=0, input_grad=True):
    F, C, kh, kw = W.shape
    dy_rows = dy.transpose(0, 2, 3, 1).reshape(-1, F)
    rows = im2col(x, (kh, kw), stride, pad)
    dW = (dy_rows.T @ rows).reshape(F, kh, kw, C).transpose(0, 3, 1, 2)
    db = dy_rows.sum(axis=0)
    dx = None
    if input_grad:
        dx = col2im(dy_rows @ W.transpose(0, 2, 3, 1).reshape(F, -1), x.shape, (kh, kw), stride, pad)
    return dx, dW, db
