"""Local response normalization across channels, exactly as the paper writes it.

    b_i = a_i / (k + alpha * sum_{j in N(i)} a_j^2) ** beta

with N(i) the ``size`` channels ``[i - size//2, i + (size-1)//2]`` clipped to
the existing channels (for odd size, the symmetric window of Krizhevsky et
al.). Defaults k=2, size=5, alpha=1e-4, beta=0.75 as in the paper.

Conventions differ: Caffe and PyTorch divide alpha by the window size, so
``torch.nn.functional.local_response_norm(x, size, alpha * size, beta, k)``
is this same map.
"""
from ..backend import get_array_module
from .chunks import over_batch_chunks


def window_sum(a, before, after):
    """Sum over channel windows: a (N, C, ...) -> s with s[:, c] = sum of a[:, c-before : c+after+1].

    Windows are clipped at the first and last channel (as if zero-padded). A
    loop over the window's offsets, each adding one shifted slice of the whole
    array to the channels that have a neighbour at that offset.
    """
    C = a.shape[1]
    s = a.copy()
    for d in range(1, min(before, C - 1) + 1):     # channel c gets a[c - d]
        s[:, d:] += a[:, :C - d]
    for d in range(1, min(after, C - 1) + 1):      # channel c gets a[c + d]
        s[:, :C - d] += a[:, d:]
    return s


def lrn_scale(x, size=5, alpha=1e-4, k=2.0):
    """The denominator base s = k + alpha * (window sum of x^2): x (N, C, H, W) -> s (same shape)."""
    return k + alpha * window_sum(x * x, size // 2, (size - 1) // 2)


def lrn(x, size=5, alpha=1e-4, beta=0.75, k=2.0):
    """Normalize: x (N, C, H, W) -> x * s^-beta (same shape)."""
    def normalize(part):
        return part * get_array_module(part).power(lrn_scale(part, size, alpha, k), -beta)
    return over_batch_chunks(normalize, x)       # a few images at a time, in cache


def lrn_backward(dy, x, size=5, alpha=1e-4, beta=0.75, k=2.0):
    """Gradient of lrn: dy (N, C, H, W) -> dx.

    dx_i = dy_i s_i^-beta - 2 alpha beta x_i sum_{j : i in N(j)} dy_j y_j / s_j.
    Channel i lies in the windows of j in [i - (size-1)//2, i + size//2]: the
    mirror of N(i), which matters only for even sizes.
    """
    def gradient(dy, x):
        s = lrn_scale(x, size, alpha, k)
        s_pow = get_array_module(x).power(s, -beta)
        y = x * s_pow
        back = window_sum(dy * y / s, (size - 1) // 2, size // 2)
        return dy * s_pow - (2.0 * alpha * beta) * x * back
    return over_batch_chunks(gradient, dy, x)    # a few images at a time, in cache
