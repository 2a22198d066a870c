"""im2col and col2im: windows of an image as columns of a matrix, and back.

im2col turns convolution into one matrix product. col2im is its *adjoint*
(transpose), not its inverse: where windows overlap, col2im adds the
overlapping entries, so ``<im2col(x), c> == <x, col2im(c)>`` for all x, c,
while ``col2im(im2col(x)) != x`` in general.

Both loop over the kh * kw kernel offsets only; each step moves one strided
slice of the whole batch at once.
"""
from ..backend import get_array_module
from .shapes import output_size, pair

#: Largest im2col buffer (bytes) built at once; convolutions chunk the batch above it.
COL_BUFFER_BYTES = 256 * 2**20


def window_grid(x_shape, kernel_size, stride, pad):
    """(oh, ow) and the normalized (kh, kw), (sh, sw), (ph, pw) for an NCHW shape."""
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel_size), pair(stride), pair(pad)
    oh = output_size(x_shape[2], kh, sh, ph)
    ow = output_size(x_shape[3], kw, sw, pw)
    return (oh, ow), (kh, kw), (sh, sw), (ph, pw)


def im2col(x, kernel_size, stride=1, pad=0):
    """Unfold windows: x (N, C, H, W) -> col (N, C*kh*kw, OH*OW).

    Column p of image n holds the window that output position p sees, in
    (channel, row, column) order, the order of a flattened (C, kh, kw) filter.
    """
    xp = get_array_module(x)
    N, C = x.shape[:2]
    (oh, ow), (kh, kw), (sh, sw), (ph, pw) = window_grid(x.shape, kernel_size, stride, pad)
    if ph or pw:
        x = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    col = xp.empty((N, C, kh, kw, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            col[:, :, i, j] = x[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]
    return col.reshape(N, C * kh * kw, oh * ow)


def col2im(col, x_shape, kernel_size, stride=1, pad=0):
    """Fold columns back, adding overlaps: col (N, C*kh*kw, OH*OW) -> (N, C, H, W).

    The adjoint of ``im2col``: each column entry is added to the pixel it was
    read from, so a pixel seen by several windows receives the sum.
    """
    xp = get_array_module(col)
    N, C, H, W = x_shape
    (oh, ow), (kh, kw), (sh, sw), (ph, pw) = window_grid(x_shape, kernel_size, stride, pad)
    expected = (N, C * kh * kw, oh * ow)
    if tuple(col.shape) != expected:
        raise ValueError(f"col2im: expected columns of shape {expected}, got {tuple(col.shape)}")
    col = col.reshape(N, C, kh, kw, oh, ow)
    out = xp.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=col.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] += col[:, :, i, j]
    if ph or pw:
        out = xp.ascontiguousarray(out[:, :, ph:ph + H, pw:pw + W])
    return out


def batch_chunks(n, bytes_per_item, limit=None):
    """Slices that split a batch of n so each chunk's buffer stays under ``limit`` bytes."""
    limit = COL_BUFFER_BYTES if limit is None else limit
    step = max(1, int(limit // max(bytes_per_item, 1)))
    return [slice(start, min(start + step, n)) for start in range(0, n, step)]
