"""Average pooling, fixed and adaptive: linear maps, so the backward is the transpose.

Not in the paper (its nets max-pool), but in the networks people bring
(torchvision's AlexNet ends its features with an adaptive average pool), so
the deconvnet can pass through them: their reverse step is their backward.

``avg_pool2d`` follows PyTorch: zero padding, and each window's divisor is its
size clipped to the padded input (``count_include_pad=True``) or the number of
real pixels it covers (``False``, ONNX's default). ``adaptive_avg_pool2d``
cuts the input into (OH, OW) windows, row i covering
[floor(i H / OH), ceil((i + 1) H / OH)), as PyTorch does.
"""
import math

from ..backend import get_array_module
from .pooling import pad_for_windows, pool_grid, window_views


def _divisors(size, kernel, stride, pad, out, count_include_pad):
    """Per output position along one axis, the number its window's sum is divided by: (out,) ints."""
    sizes = []
    for o in range(out):
        start = o * stride - pad
        end = min(start + kernel, size + pad)
        if count_include_pad:
            sizes.append(end - start)
        else:
            sizes.append(min(end, size) - max(start, 0))
    return sizes


def _geometry(x_shape, kernel_size, stride, pad, ceil_mode, count_include_pad, xp, dtype):
    """(grid, divisor (OH, OW)) of an average pooling."""
    (oh, ow), (kh, kw), (sh, sw), (ph, pw) = grid = pool_grid(x_shape, kernel_size, stride, pad, ceil_mode)
    H, W = x_shape[2:]
    rows = xp.asarray(_divisors(H, kh, sh, ph, oh, count_include_pad), dtype=dtype)
    cols = xp.asarray(_divisors(W, kw, sw, pw, ow, count_include_pad), dtype=dtype)
    return grid, rows[:, None] * cols[None, :]


def avg_pool2d(x, kernel_size, stride=None, pad=0, ceil_mode=False, count_include_pad=True):
    """Average-pool: x (N, C, H, W) -> y (N, C, OH, OW); stride defaults to the kernel."""
    xp = get_array_module(x)
    grid, divisor = _geometry(x.shape, kernel_size, stride, pad, ceil_mode, count_include_pad, xp, x.dtype)
    total = xp.zeros(x.shape[:2] + grid[0], dtype=x.dtype)
    for window in window_views(pad_for_windows(x, grid, 0.0), grid):    # zeros add nothing to a sum
        total += window
    return total / divisor


def avg_pool2d_backward(dy, input_shape, kernel_size, stride=None, pad=0, ceil_mode=False,
                        count_include_pad=True):
    """Gradient (the transpose) of avg_pool2d: dy (N, C, OH, OW) -> dx of input_shape (N, C, H, W).

    Each offset's view of the padded gradient receives its share of dy; the inside is dx."""
    xp = get_array_module(dy)
    grid, divisor = _geometry(input_shape, kernel_size, stride, pad, ceil_mode, count_include_pad, xp, dy.dtype)
    N, C, H, W = input_shape
    (ph, pw) = grid[3]
    share = dy / divisor
    dxpad = pad_for_windows(xp.zeros((N, C, H, W), dtype=dy.dtype), grid, 0.0)
    for view in window_views(dxpad, grid):
        view += share
    return xp.ascontiguousarray(dxpad[:, :, ph:ph + H, pw:pw + W])


def adaptive_windows(size, out):
    """[start, end) of each of the ``out`` adaptive windows along an axis of ``size``."""
    return [(i * size // out, math.ceil((i + 1) * size / out)) for i in range(out)]


def adaptive_avg_pool2d(x, output_size):
    """Adaptive average pool: x (N, C, H, W) -> (N, C, OH, OW), whatever H and W are."""
    xp = get_array_module(x)
    (oh, ow) = output_size
    y = xp.empty(x.shape[:2] + (oh, ow), dtype=x.dtype)
    for i, (r0, r1) in enumerate(adaptive_windows(x.shape[2], oh)):
        for j, (c0, c1) in enumerate(adaptive_windows(x.shape[3], ow)):
            y[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return y


def adaptive_avg_pool2d_backward(dy, input_shape):
    """Gradient of adaptive_avg_pool2d: dy (N, C, OH, OW) -> dx (input_shape); overlaps add."""
    xp = get_array_module(dy)
    oh, ow = dy.shape[2:]
    dx = xp.zeros(tuple(input_shape), dtype=dy.dtype)
    for i, (r0, r1) in enumerate(adaptive_windows(input_shape[2], oh)):
        for j, (c0, c1) in enumerate(adaptive_windows(input_shape[3], ow)):
            dx[:, :, r0:r1, c0:c1] += (dy[:, :, i, j] / ((r1 - r0) * (c1 - c0)))[:, :, None, None]
    return dx
