"""Max-pooling that records its *switches*, and unpooling through them.

The switches are the locations of the maxima: for every output element, the
index ``h * W + w`` of the input element that won its window (PyTorch's
``return_indices`` convention). Training's backward and the deconvnet's
unpooling are one function, ``unpool``: each value goes back to its switch.
With overlapping windows (3x3, stride 2) one input element can win several
windows, and then the values it receives are *added*.
"""
from ..backend import get_array_module, scatter_add
from .chunks import for_batch_chunks, over_batch_chunks
from .columns import pad_hw
from .shapes import output_size, pair


def pool_grid(x_shape, kernel_size, stride=None, pad=0, ceil_mode=False):
    """(oh, ow), (kh, kw), (sh, sw), (ph, pw) of a pooling; stride defaults to the kernel."""
    (kh, kw) = pair(kernel_size)
    (sh, sw) = pair(kernel_size if stride is None else stride)
    (ph, pw) = pair(pad)
    oh = output_size(x_shape[2], kh, sh, ph, ceil_mode)
    ow = output_size(x_shape[3], kw, sw, pw, ceil_mode)
    return (oh, ow), (kh, kw), (sh, sw), (ph, pw)


def max_pool2d(x, kernel_size, stride=None, pad=0, ceil_mode=False):
    """Max-pool: x (N, C, H, W) -> y (N, C, OH, OW), switches (N, C, OH, OW) of int32 indices h*W+w.

    On ties the first maximum in row-major window order wins (as in PyTorch).
    A NaN in a window propagates (the output is NaN) and the switch points at
    the window's last NaN, both as in PyTorch: a diverging network shows NaN
    downstream instead of failing here.
    """
    grid = pool_grid(x.shape, kernel_size, stride, pad, ceil_mode)
    # A few images at a time, so the kh*kw passes below run in cache.
    return over_batch_chunks(lambda part: _pool_chunk(part, *grid), x)


def pad_for_windows(x, grid, fill):
    """x padded with ``fill`` as a pooling's windows read it: ph/pw on the top/left, and on the
    bottom/right as far as the last window reaches (ceil mode lets it hang over the edge)."""
    H, W = x.shape[2:]
    (oh, ow), (kh, kw), (sh, sw), (ph, pw) = grid
    return pad_hw(x, ph, max((oh - 1) * sh + kh - ph - H, 0), pw, max((ow - 1) * sw + kw - pw - W, 0), fill)


def window_views(xpad, grid):
    """The kh*kw strided views of a padded image, one per window offset in row-major order:
    view k = (i, j) holds, at output (r, c), padded pixel (r*sh + i, c*sw + j). Writing into
    a view writes into xpad."""
    (oh, ow), (kh, kw), (sh, sw), _ = grid
    return [xpad[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] for i in range(kh) for j in range(kw)]


def _pool_chunk(x, out_size, kernel, stride, pad):
    """max_pool2d of a few images: the maxima and their switches (int32 indices h*W+w)."""
    xp = get_array_module(x)
    H, W = x.shape[2:]
    (oh, ow), (kh, kw), (sh, sw), (ph, pw) = out_size, kernel, stride, pad
    # Pad with -inf, never 0: a zero pad would win over negative inputs.
    grid = (out_size, kernel, stride, pad)
    windows = window_views(pad_for_windows(x, grid, -xp.inf), grid)
    # The maximum over the kh*kw window offsets ...
    best = windows[0].copy()
    for window in windows[1:]:
        xp.maximum(best, window, out=best)
    # ... and which offset won: the first one (row-major) equal to the maximum,
    # as in PyTorch. Offset k scores kk - k where it attains the maximum, so the
    # largest score marks the first such offset (plain ufuncs: no masked writes).
    kk = kh * kw
    small = xp.int8 if kk < 128 else xp.int16          # the narrowest type that holds kk
    score = xp.zeros(best.shape, dtype=small)
    hit = xp.empty(best.shape, dtype=bool)
    points = xp.empty(best.shape, dtype=small)
    for k, window in enumerate(windows):
        xp.equal(window, best, out=hit)
        xp.multiply(hit, small(kk - k), out=points, dtype=small)
        xp.maximum(score, points, out=score)
    if not score.all():
        # NaN equals nothing, not even a NaN maximum, so those windows scored 0.
        # Any NaN in a window made its maximum NaN: point its switch at the last
        # NaN of the window (each later one overwrites), as PyTorch does.
        for k, window in enumerate(windows):
            xp.isnan(window, out=hit)
            xp.copyto(score, small(kk - k), where=hit)
    # Offset k = (i, j) of output (r, c) is input pixel (r*sh - ph + i, c*sw - pw + j).
    index = xp.int32 if H * W < 2**31 else xp.int64
    corner = ((xp.arange(oh) * sh - ph).reshape(oh, 1) * W
              + (xp.arange(ow) * sw - pw).reshape(1, ow)).astype(index)
    shift = xp.asarray([i * W + j for i in range(kh) for j in range(kw)], dtype=index)
    return best, corner + xp.take(shift, kk - score)


def unpool(signal, switches, input_shape):
    """Send each value to its switch: signal, switches (N, C, OH, OW) -> (N, C, H, W).

    Overlapping windows that share a switch add their values. This is both the
    backward of ``max_pool2d`` (signal = dy) and the deconvnet's unpooling.
    """
    xp = get_array_module(signal)
    N, C, H, W = input_shape
    if signal.shape != switches.shape or tuple(signal.shape[:2]) != (N, C):
        raise ValueError(f"unpool: signal {tuple(signal.shape)} and switches "
                         f"{tuple(switches.shape)} must both be (N={N}, C={C}, OH, OW)")
    out = xp.empty((N, C * H * W), dtype=signal.dtype)

    def chunk(sl):                          # a few images, each written only here
        part = out[sl]
        part[...] = 0
        n = part.shape[0]
        plane = (xp.arange(n * C) * (H * W)).reshape(n, C, 1, 1)   # start of each (n, c) plane
        scatter_add(part.reshape(-1), (switches[sl] + plane).ravel(), signal[sl].ravel())
    for_batch_chunks(chunk, N, C * H * W * signal.itemsize, xp)
    return out.reshape(N, C, H, W)


def max_pool2d_backward(dy, switches, input_shape):
    """Gradient of max_pool2d: dy (N, C, OH, OW) -> dx (N, C, H, W); the same map as ``unpool``."""
    return unpool(dy, switches, input_shape)
