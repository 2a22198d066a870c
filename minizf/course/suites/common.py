"""What the graded tests share: numerical gradients, tie-free inputs, the classic col2im bug."""
import numpy as np

from ... import functional as F
from ...check import numerical_gradient, tie_free_like


def numeric(f, x):
    """Central differences of the scalar f() with respect to x (perturbed in place), float64."""
    return numerical_gradient(f, x, eps=1e-5)


def tie_free(shape, rng):
    """Distinct values in about [-2, 2] (no ties for max-pooling, no zeros for ReLU)."""
    return 2 * tie_free_like(shape, seed=int(rng.integers(2**31)))


def windows(x_shape, kernel, stride, pad):
    """[(n, r, c, rows, cols)] of every window of a conv/pool, in padded coordinates."""
    (oh, ow), (kh, kw), (sh, sw), _ = F.window_grid(x_shape, kernel, stride, pad)
    return [(n, r, c, slice(r * sh, r * sh + kh), slice(c * sw, c * sw + kw))
            for n in range(x_shape[0]) for r in range(oh) for c in range(ow)]


def col2im_overwrite(cols, x_shape, kernel, stride, pad):
    """The classic col2im bug: each window *assigns* its entries, the last window wins."""
    N, C, H, W = x_shape
    (kh, kw), (ph, pw) = F.pair(kernel), F.pair(pad)
    out = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for k, (n, _, _, rows, cols_) in enumerate(windows(x_shape, kernel, stride, pad)):
        out[n, :, rows, cols_] = cols[k].reshape(kh, kw, C).transpose(2, 0, 1)
    return out[:, :, ph:ph + H, pw:pw + W]
