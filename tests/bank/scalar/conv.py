"""A correct "conv" submission written entry by entry in pure Python (lists, no NumPy arithmetic).

The slowest honest style a student may hand in: it must still get full marks, the tests at the
size of a real layer included (tests/test_sandbox.py).
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
    xs, rows = x.tolist(), []
    for n in range(N):
        for r in range(oh):
            for c in range(ow):
                row = []
                for i in range(kh):
                    for j in range(kw):
                        h, w = r * sh + i - ph, c * sw + j - pw
                        for ch in range(C):
                            row.append(xs[n][ch][h][w] if 0 <= h < H and 0 <= w < W else 0.0)
                rows.append(row)
    return np.array(rows, dtype=float).reshape(N * oh * ow, kh * kw * C)


def col2im(cols, x_shape, kernel_size, stride=1, pad=0):
    N, C, H, W = x_shape
    kh, kw, sh, sw, ph, pw, oh, ow = _geometry(x_shape, kernel_size, stride, pad)
    out = [[[[0.0] * W for _ in range(H)] for _ in range(C)] for _ in range(N)]
    cs = cols.tolist()
    for n in range(N):
        for r in range(oh):
            for c in range(ow):
                row = cs[(n * oh + r) * ow + c]
                for i in range(kh):
                    for j in range(kw):
                        h, w = r * sh + i - ph, c * sw + j - pw
                        if 0 <= h < H and 0 <= w < W:
                            for ch in range(C):
                                out[n][ch][h][w] += row[(i * kw + j) * C + ch]
    return np.array(out, dtype=float)


def conv2d(x, W, b=None, stride=1, pad=0):
    N, C, H, Wd = x.shape
    F, _, kh, kw = W.shape
    _, _, sh, sw, ph, pw, oh, ow = _geometry(x.shape, (kh, kw), stride, pad)
    xs, ws = x.tolist(), W.tolist()
    bs = [0.0] * F if b is None else b.tolist()
    y = [[[[bs[f]] * ow for _ in range(oh)] for f in range(F)] for _ in range(N)]
    for n in range(N):
        for f in range(F):
            for r in range(oh):
                for c in range(ow):
                    total = 0.0
                    for ch in range(C):
                        for i in range(kh):
                            h = r * sh + i - ph
                            if 0 <= h < H:
                                for j in range(kw):
                                    w = c * sw + j - pw
                                    if 0 <= w < Wd:
                                        total += xs[n][ch][h][w] * ws[f][ch][i][j]
                    y[n][f][r][c] += total
    return np.array(y, dtype=float)


def conv2d_backward(dy, x, W, stride=1, pad=0, input_grad=True):
    N, C, H, Wd = x.shape
    F, _, kh, kw = W.shape
    _, _, sh, sw, ph, pw, oh, ow = _geometry(x.shape, (kh, kw), stride, pad)
    xs, ws, ds = x.tolist(), W.tolist(), dy.tolist()
    dx = [[[[0.0] * Wd for _ in range(H)] for _ in range(C)] for _ in range(N)]
    dW = [[[[0.0] * kw for _ in range(kh)] for _ in range(C)] for _ in range(F)]
    db = [0.0] * F
    for n in range(N):
        for f in range(F):
            for r in range(oh):
                for c in range(ow):
                    g = ds[n][f][r][c]
                    db[f] += g
                    for ch in range(C):
                        xc, wc, dxc, dwc = xs[n][ch], ws[f][ch], dx[n][ch], dW[f][ch]
                        for i in range(kh):
                            h = r * sh + i - ph
                            if 0 <= h < H:
                                for j in range(kw):
                                    w = c * sw + j - pw
                                    if 0 <= w < Wd:
                                        dxc[h][w] += g * wc[i][j]
                                        dwc[i][j] += g * xc[h][w]
    return (np.array(dx, dtype=float) if input_grad else None), np.array(dW, dtype=float), np.array(db)
