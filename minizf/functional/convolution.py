"""2-D convolution (cross-correlation, as in every deep-learning library) by im2col.

With the windows of the whole batch as rows, rows (N*OH*OW, kh*kw*C), the
forward pass is one matrix product ``W_matrix (F, kh*kw*C) @ rows.T``. The
two backward maps are the transposes of the two linear maps inside it:

* w.r.t. the input: ``col2im(dy_rows @ W_matrix)``, the *transposed
  convolution*. This is exactly the deconvnet's "filtering" step (Sec. 2.1):
  transposing the im2col matrix is the same as flipping each filter
  vertically and horizontally and swapping its input and output channels.
* w.r.t. the weights: ``dy_rows.T @ rows``.

The batch is cut into chunks whose im2col buffer stays below
``chunks.COL_BUFFER_BYTES`` (a few MB): the rows are then written and read
while they are still in the processor's cache, which is faster than one huge
buffer, and memory stays bounded whatever the batch size. On a CPU each core
takes a contiguous share of the chunks (im2col, product and copies, all on
that core); the weight gradient is summed per share, then over the shares.
It rebuilds the rows chunk by chunk instead of keeping them from the forward.
"""
import numpy as np

from ..backend import get_array_module
from . import chunks
from .chunks import add_shares, batch_chunks, map_shares
from .columns import col2im, filter_matrix, filters_from_matrix, im2col, matmul_for_col2im, window_grid


def col_bytes(x_shape, kernel_size, stride, pad, itemsize):
    """Bytes of im2col's output for one image."""
    (oh, ow), (kh, kw), _, _ = window_grid(x_shape, kernel_size, stride, pad)
    return x_shape[1] * kh * kw * oh * ow * itemsize


def _chunk_shares(fn, x_shape, kernel_size, stride, pad, itemsize, xp):
    """fn(slices) for contiguous shares of the batch's chunks, one share per core; [results].

    Chunks keep each im2col buffer below the limit (cache-sized on a CPU,
    large on a GPU, which takes all chunks in one share).
    """
    if xp is not np:
        return [fn(batch_chunks(x_shape[0], col_bytes(x_shape, kernel_size, stride, pad, itemsize),
                                chunks.GPU_BUFFER_BYTES))]
    return map_shares(fn, batch_chunks(x_shape[0], col_bytes(x_shape, kernel_size, stride, pad, itemsize)))


def _to_nchw(y_t, n, oh, ow):
    """(F, n*OH*OW) -> (n, F, OH, OW): moves runs of OH*OW values, no 2-D transpose."""
    return y_t.reshape(-1, n, oh, ow).transpose(1, 0, 2, 3)


def _from_nchw(dy):
    """(n, F, OH, OW) -> (F, n*OH*OW), a contiguous copy: the transpose of dy's rows."""
    xp = get_array_module(dy)
    return xp.ascontiguousarray(dy.transpose(1, 0, 2, 3)).reshape(dy.shape[1], -1)


def conv2d(x, W, b=None, stride=1, pad=0):
    """Convolve: x (N, C, H, W), W (F, C, kh, kw), b (F,) -> y (N, F, OH, OW)."""
    xp = get_array_module(x)
    N, F = x.shape[0], W.shape[0]
    (oh, ow), *_ = window_grid(x.shape, W.shape[2:], stride, pad)
    Wm = filter_matrix(W)                                           # (F, kh*kw*C)
    y = xp.empty((N, F, oh, ow), dtype=x.dtype)

    def convolve(slices):
        for sl in slices:
            rows = im2col(x[sl], W.shape[2:], stride, pad)          # (n*OH*OW, kh*kw*C)
            y[sl] = _to_nchw(Wm @ rows.T, rows.shape[0] // (oh * ow), oh, ow)
            if b is not None:
                y[sl] += b.reshape(1, F, 1, 1)
    _chunk_shares(convolve, x.shape, W.shape[2:], stride, pad, x.itemsize, xp)
    return y


def _input_grad(dy_t, Wm, x_shape, kernel_size, stride, pad):
    """One chunk's transposed convolution: dy_t (F, n*OH*OW) -> dx (n, C, H, W)."""
    drows = matmul_for_col2im(dy_t.T, Wm, x_shape, kernel_size, stride, pad)   # (n*OH*OW, kh*kw*C)
    return col2im(drows, x_shape, kernel_size, stride, pad)


def conv2d_backward_input(dy, W, x_shape, stride=1, pad=0):
    """Transposed convolution: dy (N, F, OH, OW), W (F, C, kh, kw) -> dx of x_shape (N, C, H, W).

    Linear in dy, no bias: the deconvnet's filtering step uses this very function.
    """
    xp = get_array_module(dy)
    dx = xp.empty(tuple(x_shape), dtype=dy.dtype)
    Wm = filter_matrix(W)                                           # (F, kh*kw*C)

    def transpose_convolve(slices):
        for sl in slices:
            part_shape = (dy[sl].shape[0],) + tuple(x_shape[1:])
            dx[sl] = _input_grad(_from_nchw(dy[sl]), Wm, part_shape, W.shape[2:], stride, pad)
    _chunk_shares(transpose_convolve, x_shape, W.shape[2:], stride, pad, dy.itemsize, xp)
    return dx


def _gradients(dy, x, W, kernel_size, stride, pad):
    """dx (None when W is None), dW and db, chunk by chunk, sharing each chunk's dy rows.

    Each core sums dW and db over its own share of the batch; the shares'
    sums are added at the end.
    """
    xp = get_array_module(dy)
    F, C = dy.shape[1], x.shape[1]
    (_, _), (kh, kw), _, _ = window_grid(x.shape, kernel_size, stride, pad)
    Wm = None if W is None else filter_matrix(W)
    dx = None if W is None else xp.empty(x.shape, dtype=dy.dtype)

    def share_gradients(slices):
        dWm = xp.zeros((F, kh * kw * C), dtype=dy.dtype)
        db = xp.zeros(F, dtype=dy.dtype)
        for sl in slices:
            dy_t = _from_nchw(dy[sl])                               # (F, n*OH*OW)
            if W is not None:
                dx[sl] = _input_grad(dy_t, Wm, x[sl].shape, (kh, kw), stride, pad)
            dWm += dy_t @ im2col(x[sl], (kh, kw), stride, pad)
            db += dy_t.sum(axis=1)
        return dWm, db

    shares = _chunk_shares(share_gradients, x.shape, (kh, kw), stride, pad, x.itemsize, xp)
    dWm, db = add_shares(shares)
    return dx, filters_from_matrix(dWm, (F, C, kh, kw)), db


def conv2d_backward_weight(dy, x, kernel_size, stride=1, pad=0):
    """Weight gradient: dy (N, F, OH, OW), x (N, C, H, W) -> dW (F, C, kh, kw)."""
    return _gradients(dy, x, None, kernel_size, stride, pad)[1]


def conv2d_backward(dy, x, W, stride=1, pad=0, input_grad=True):
    """All three gradients: dy (N, F, OH, OW) -> dx (N, C, H, W), dW (F, C, kh, kw), db (F,).

    input_grad=False skips dx (returned as None): a first layer's input is
    data, whose gradient training never uses.
    """
    return _gradients(dy, x, W if input_grad else None, W.shape[2:], stride, pad)
