"""A correct "conv" submission in float32 with tensordot over strided windows (a vectorised style).

Its sums over a real layer's 2048 positions show float32 rounding of about 1e-6 (tests/test_course.py).
"""
import numpy as np

ASSIGNMENT = "conv"


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _windows(x, kh, kw, sh, sw, ph, pw):
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    N, C, H, W = xp.shape
    oh, ow = (H - kh) // sh + 1, (W - kw) // sw + 1
    s = xp.strides
    return np.lib.stride_tricks.as_strided(xp, (N, C, oh, ow, kh, kw), (s[0], s[1], s[2] * sh, s[3] * sw, s[2], s[3]))


def im2col(x, kernel_size, stride=1, pad=0):
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel_size), _pair(stride), _pair(pad)
    win = _windows(x.astype(np.float32), kh, kw, sh, sw, ph, pw)
    N, C, oh, ow = win.shape[:4]
    return win.transpose(0, 2, 3, 4, 5, 1).reshape(N * oh * ow, kh * kw * C)


def col2im(cols, x_shape, kernel_size, stride=1, pad=0):
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel_size), _pair(stride), _pair(pad)
    N, C, H, W = x_shape
    oh, ow = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    c = cols.astype(np.float32).reshape(N, oh, ow, kh, kw, C)
    out = np.zeros((N, C, H + 2 * ph, W + 2 * pw), np.float32)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] += c[:, :, :, i, j, :].transpose(0, 3, 1, 2)
    return out[:, :, ph:ph + H, pw:pw + W].astype(np.float64)


def conv2d(x, W, b=None, stride=1, pad=0):
    F, C, kh, kw = W.shape
    (sh, sw), (ph, pw) = _pair(stride), _pair(pad)
    win = _windows(x.astype(np.float32), kh, kw, sh, sw, ph, pw)
    y = np.tensordot(win, W.astype(np.float32), axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    if b is not None:
        y = y + b.astype(np.float32)[None, :, None, None]
    return y.astype(np.float64)


def conv2d_backward(dy, x, W, stride=1, pad=0, input_grad=True):
    F, C, kh, kw = W.shape
    (sh, sw), (ph, pw) = _pair(stride), _pair(pad)
    dy32 = dy.astype(np.float32)
    win = _windows(x.astype(np.float32), kh, kw, sh, sw, ph, pw)
    dW = np.tensordot(dy32, win, axes=([0, 2, 3], [0, 2, 3]))
    db = dy32.transpose(0, 2, 3, 1).reshape(-1, F).sum(axis=0)        # a float32 sum over every position
    dx = None
    if input_grad:
        cols = np.tensordot(dy32, W.astype(np.float32), axes=([1], [0])).transpose(0, 1, 2, 4, 5, 3)
        N = x.shape[0]
        dx = col2im(cols.reshape(-1, kh * kw * C), x.shape, (kh, kw), (sh, sw), (ph, pw))
    return dx, dW.astype(np.float64), db.astype(np.float64)
