"""Slow, obviously-correct loop implementations: the independent references.

Nothing here imports minizf's math. Each function is a direct transcription
of a definition, one output element at a time.
"""
import numpy as np


def out_size(size, k, s, p, ceil_mode=False):
    """Window count by the textbook formula, with PyTorch's rule for ceil mode."""
    if ceil_mode:
        n = int(np.ceil((size + 2 * p - k) / s)) + 1
        if (n - 1) * s >= size + p:
            n -= 1
        return n
    return (size + 2 * p - k) // s + 1


def conv2d_direct(x, W, b, stride, pad):
    """y[n, f, i, j] = b[f] + sum_{c, u, v} W[f, c, u, v] * xpad[n, c, i*sh + u, j*sw + v]."""
    (sh, sw), (ph, pw) = stride, pad
    N, C, H, Wd = x.shape
    F, _, kh, kw = W.shape
    xp_ = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh, ow = out_size(H, kh, sh, ph), out_size(Wd, kw, sw, pw)
    y = np.zeros((N, F, oh, ow), dtype=np.float64)
    for n in range(N):
        for f in range(F):
            for i in range(oh):
                for j in range(ow):
                    window = xp_[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    y[n, f, i, j] = np.sum(window * W[f]) + (b[f] if b is not None else 0.0)
    return y


def windows_direct(x, kernel, stride, pad):
    """Every window of every image, listed one by one: (N, OH*OW, C*kh*kw), zero padding."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, pad
    N, C, H, W = x.shape
    xp_ = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh, ow = out_size(H, kh, sh, ph), out_size(W, kw, sw, pw)
    rows = []
    for n in range(N):
        per_image = []
        for i in range(oh):
            for j in range(ow):
                per_image.append(xp_[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw].ravel())
        rows.append(per_image)
    return np.array(rows)


def max_pool_direct(x, kernel, stride, pad, ceil_mode):
    """Max and argmax (h*W + w, first maximum in row-major order) of each window."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, pad
    N, C, H, W = x.shape
    oh, ow = out_size(H, kh, sh, ph, ceil_mode), out_size(W, kw, sw, pw, ceil_mode)
    y = np.zeros((N, C, oh, ow), dtype=x.dtype)
    switches = np.zeros((N, C, oh, ow), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for i in range(oh):
                for j in range(ow):
                    best, arg = -np.inf, None
                    for u in range(kh):
                        for v in range(kw):
                            r, q = i * sh - ph + u, j * sw - pw + v
                            if 0 <= r < H and 0 <= q < W and (arg is None or x[n, c, r, q] > best):
                                best, arg = x[n, c, r, q], r * W + q
                    y[n, c, i, j], switches[n, c, i, j] = best, arg
    return y, switches


def lrn_direct(x, size, alpha, beta, k):
    """b_i = a_i / (k + alpha * sum_{j = i - size//2}^{i + (size-1)//2} a_j^2)^beta, clipped."""
    N, C = x.shape[:2]
    y = np.zeros_like(x)
    for i in range(C):
        lo, hi = max(0, i - size // 2), min(C - 1, i + (size - 1) // 2)
        s = k + alpha * np.sum(x[:, lo:hi + 1] ** 2, axis=1)
        y[:, i] = x[:, i] / s ** beta
    return y


def softmax_cross_entropy_direct(scores, labels):
    """Mean of -log(exp(z_y) / sum exp(z)), each row computed on its own in float64."""
    losses = []
    for z, label in zip(scores.astype(np.float64), labels):
        z = z - z.max()
        losses.append(np.log(np.sum(np.exp(z))) - z[label])
    return float(np.mean(losses))


def avg_pool_direct(x, kernel, stride, pad, ceil_mode, count_include_pad):
    """Each window's mean, one output at a time: the sum over its pixels inside the image, divided by
    the window clipped to the padded image (count_include_pad) or by the pixels it covers."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, pad
    N, C, H, W = x.shape
    oh, ow = out_size(H, kh, sh, ph, ceil_mode), out_size(W, kw, sw, pw, ceil_mode)
    y = np.zeros((N, C, oh, ow), dtype=np.float64)
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * sh - ph, j * sw - pw
            r1, c1 = min(r0 + kh, H + ph), min(c0 + kw, W + pw)
            inside = x[:, :, max(r0, 0):min(r1, H), max(c0, 0):min(c1, W)]
            count = (r1 - r0) * (c1 - c0) if count_include_pad else inside.shape[2] * inside.shape[3]
            y[:, :, i, j] = inside.sum(axis=(2, 3)) / count
    return y


def adaptive_avg_pool_direct(x, out):
    """PyTorch's adaptive windows: row i covers [floor(i H / OH), ceil((i + 1) H / OH))."""
    N, C, H, W = x.shape
    y = np.zeros((N, C) + tuple(out))
    for i in range(out[0]):
        for j in range(out[1]):
            r0, r1 = (i * H) // out[0], -(-((i + 1) * H) // out[0])
            c0, c1 = (j * W) // out[1], -(-((j + 1) * W) // out[1])
            y[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return y
