"""im2col and col2im: the windows of a batch as the rows of a matrix, and back.

im2col turns convolution into one matrix product: with one row per window,
``im2col(x) @ filter_matrix(W).T`` is every filter at every position of every
image. col2im is its *adjoint* (transpose), not its inverse: where windows
overlap, col2im adds the overlapping entries, so
``<im2col(x), c> == <x, col2im(c)>`` for all x, c, while
``col2im(im2col(x)) != x`` in general.

Row ``n*OH*OW + r*OW + c`` holds the window that output position (r, c) of
image n sees, pixel by pixel with all channels of a pixel together: entry
``(i*kw + j)*C + ch`` is channel ch at kernel offset (i, j). A filter bank
flattens in the same order (``filter_matrix``).

Both functions loop over the kh * kw kernel offsets only; each step moves one
offset's values for the whole batch. NumPy copies fast when its innermost
loop is long, so the same matrix is kept in one of two memory layouts:

* channels last, (N, OH, OW, kh, kw, C): each step copies runs of C channels.
  Best with many channels (layers after the first);
* pixels last, (kh, kw, C, N, OH, OW), the matrix's transpose in memory: each
  step copies runs of OW pixels. Best with few channels (a first layer's 3).

``channels_last`` picks the one with the longer runs. The values are the same
either way; only the speed differs (see benchmarks/).
"""
from ..backend import get_array_module
from .shapes import output_size, pair


def window_grid(x_shape, kernel_size, stride, pad):
    """(oh, ow) and the normalized (kh, kw), (sh, sw), (ph, pw) for an NCHW shape."""
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel_size), pair(stride), pair(pad)
    oh = output_size(x_shape[2], kh, sh, ph)
    ow = output_size(x_shape[3], kw, sw, pw)
    return (oh, ow), (kh, kw), (sh, sw), (ph, pw)


def pad_hw(x, top, bottom, left, right, value=0.0, axes=(2, 3)):
    """x with constant rows and columns around its two spatial ``axes`` (NCHW: 2, 3; NHWC: 1, 2).

    The same as ``np.pad(..., constant_values=value)`` on those axes, but a
    plain allocation and one copy (np.pad is several times slower). The copy
    may also change the layout: ``pad_hw(x.transpose(0, 2, 3, 1), ..., axes=(1, 2))``
    gives a padded channels-last array in one pass.
    """
    xp = get_array_module(x)
    rows, cols = axes
    shape = list(x.shape)
    shape[rows] += top + bottom
    shape[cols] += left + right
    out = xp.full(tuple(shape), value, dtype=x.dtype)
    inside = [slice(None)] * x.ndim
    inside[rows] = slice(top, top + x.shape[rows])
    inside[cols] = slice(left, left + x.shape[cols])
    out[tuple(inside)] = x
    return out


def filter_matrix(W):
    """Filters as rows in im2col's order: W (F, C, kh, kw) -> (F, kh*kw*C)."""
    return W.transpose(0, 2, 3, 1).reshape(W.shape[0], -1)


def filters_from_matrix(Wm, w_shape):
    """The inverse of ``filter_matrix``: (F, kh*kw*C) -> (F, C, kh, kw), contiguous."""
    F, C, kh, kw = w_shape
    return get_array_module(Wm).ascontiguousarray(Wm.reshape(F, kh, kw, C).transpose(0, 3, 1, 2))


def channels_last(x_shape, kernel_size, stride=1, pad=0):
    """True when im2col keeps its rows channels last (more channels than output columns)."""
    (_, ow), *_ = window_grid(x_shape, kernel_size, stride, pad)
    return x_shape[1] > ow


def _offsets(blocks, image, geometry, last):
    """(block, window) view pairs, one per kernel offset (i, j), in either layout.

    block: the rows' entries for offset (i, j); window: the pixels of the
    padded image that offset reads. im2col copies window -> block, col2im adds
    block -> window.
    """
    (oh, ow), (kh, kw), (sh, sw), _ = geometry
    for i in range(kh):
        for j in range(kw):
            rows, cols = slice(i, i + sh * oh, sh), slice(j, j + sw * ow, sw)
            if last:                           # blocks (N, OH, OW, kh, kw, C), image (N, H, W, C)
                yield blocks[:, :, :, i, j], image[:, rows, cols]
            else:                              # blocks (kh, kw, C, N, OH, OW), image (C, N, H, W)
                yield blocks[i, j], image[:, :, rows, cols]


def im2col(x, kernel_size, stride=1, pad=0):
    """Unfold windows: x (N, C, H, W) -> rows (N*OH*OW, kh*kw*C), one row per window."""
    xp = get_array_module(x)
    N, C = x.shape[:2]
    geometry = window_grid(x.shape, kernel_size, stride, pad)
    (oh, ow), (kh, kw), _, (ph, pw) = geometry
    last = channels_last(x.shape, kernel_size, stride, pad)
    if last:                                   # padded (N, H, W, C): one copy does both
        image = pad_hw(x.transpose(0, 2, 3, 1), ph, ph, pw, pw, axes=(1, 2))
        blocks = xp.empty((N, oh, ow, kh, kw, C), dtype=x.dtype)
    else:                                      # (C, N, H, W): a view when there is no padding
        image = (pad_hw(x, ph, ph, pw, pw) if ph or pw else x).transpose(1, 0, 2, 3)
        blocks = xp.empty((kh, kw, C, N, oh, ow), dtype=x.dtype)
    for block, window in _offsets(blocks, image, geometry, last):
        block[...] = window
    K = kh * kw * C
    return blocks.reshape(N * oh * ow, K) if last else blocks.reshape(K, N * oh * ow).T


def col2im(cols, x_shape, kernel_size, stride=1, pad=0):
    """Fold rows back, adding overlaps: cols (N*OH*OW, kh*kw*C) -> (N, C, H, W).

    The adjoint of ``im2col``: each entry is added to the pixel it was read
    from, so a pixel seen by several windows receives the sum. Fastest when
    ``cols`` is already in the memory layout ``channels_last`` picks (see
    ``matmul_for_col2im``); any other is copied into it first.
    """
    xp = get_array_module(cols)
    N, C, H, W = x_shape
    geometry = window_grid(x_shape, kernel_size, stride, pad)
    (oh, ow), (kh, kw), _, (ph, pw) = geometry
    expected = (N * oh * ow, C * kh * kw)
    if tuple(cols.shape) != expected:
        raise ValueError(f"col2im: expected rows of shape {expected}, got {tuple(cols.shape)}")
    last = channels_last(x_shape, kernel_size, stride, pad)
    if last:
        blocks = cols.reshape(N, oh, ow, kh, kw, C)
        image = xp.zeros((N, H + 2 * ph, W + 2 * pw, C), dtype=cols.dtype)
    else:
        blocks = cols.T.reshape(kh, kw, C, N, oh, ow)
        image = xp.zeros((C, N, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    for block, window in _offsets(blocks, image, geometry, last):
        window += block
    # Back to (N, C, H, W) without the padding: one copy does both.
    if last:
        return xp.ascontiguousarray(image[:, ph:ph + H, pw:pw + W].transpose(0, 3, 1, 2))
    return xp.ascontiguousarray(image[:, :, ph:ph + H, pw:pw + W].transpose(1, 0, 2, 3))


def matmul_for_col2im(a, b, x_shape, kernel_size, stride=1, pad=0):
    """a (M, F) @ b (F, K), the product stored in the memory layout col2im reads without a copy.

    The same numbers as ``a @ b``; pixels last means the transpose is stored,
    which a matrix product can write directly as ``(b.T @ a.T).T``.
    """
    if channels_last(x_shape, kernel_size, stride, pad):
        return a @ b
    return (b.T @ a.T).T
