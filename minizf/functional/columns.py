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

def window_grid(x_shape, kernel_size, stride, pad):
    """(oh, ow) and the normalized (kh, kw), (sh, sw), (ph, pw) for an NCHW shape."""
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel_size), pair(stride), pair(pad)
    oh = output_size(x_shape[2], kh, sh, ph)
    ow = output_size(x_shape[3], kw, sw, pw)
    return (oh, ow), (kh, kw), (sh, sw), (ph, pw)


def pad_hw(x, top, bottom, left, right, value=0.0):
    """x (N, C, H, W) surrounded by constant rows and columns -> (N, C, H+top+bottom, W+left+right).

    The same as ``np.pad(..., constant_values=value)`` on the last two axes, but a
    plain allocation and one copy (np.pad is several times slower).
    """
    xp = get_array_module(x)
    N, C, H, W = x.shape
    out = xp.full((N, C, H + top + bottom, W + left + right), value, dtype=x.dtype)
    out[:, :, top:top + H, left:left + W] = x
    return out


def im2col(x, kernel_size, stride=1, pad=0):
    """Unfold windows: x (N, C, H, W) -> col (C*kh*kw, N*OH*OW).

    Column n*OH*OW + p holds the window that output position p of image n
    sees, in (channel, row, column) order: the order of a flattened (C, kh, kw)
    filter. With every window of the whole batch side by side, a convolution
    is one matrix product ``W.reshape(F, -1) @ col``.
    """
    xp = get_array_module(x)
    N, C = x.shape[:2]
    (oh, ow), (kh, kw), (sh, sw), (ph, pw) = window_grid(x.shape, kernel_size, stride, pad)
    if ph or pw:
        x = pad_hw(x, ph, ph, pw, pw)
    x = x.transpose(1, 0, 2, 3)                    # (C, N, H, W): a view, channels first
    col = xp.empty((C, kh, kw, N, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            col[:, i, j] = x[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]
    return col.reshape(C * kh * kw, N * oh * ow)


def col2im(col, x_shape, kernel_size, stride=1, pad=0):
    """Fold columns back, adding overlaps: col (C*kh*kw, N*OH*OW) -> (N, C, H, W).

    The adjoint of ``im2col``: each column entry is added to the pixel it was
    read from, so a pixel seen by several windows receives the sum.
    """
    xp = get_array_module(col)
    N, C, H, W = x_shape
    (oh, ow), (kh, kw), (sh, sw), (ph, pw) = window_grid(x_shape, kernel_size, stride, pad)
    expected = (C * kh * kw, N * oh * ow)
    if tuple(col.shape) != expected:
        raise ValueError(f"col2im: expected columns of shape {expected}, got {tuple(col.shape)}")
    col = col.reshape(C, kh, kw, N, oh, ow)
    out = xp.zeros((C, N, H + 2 * ph, W + 2 * pw), dtype=col.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] += col[:, i, j]
    # Back to (N, C, H, W) without the padding: one copy does both.
    return xp.ascontiguousarray(out[:, :, ph:ph + H, pw:pw + W].transpose(1, 0, 2, 3))
