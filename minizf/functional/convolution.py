"""2-D convolution (cross-correlation, as in every deep-learning library) by im2col.

Forward is im2col + one matrix product per chunk of the batch. The two
backward maps are the transposes of the two linear maps inside it:

* w.r.t. the input: ``col2im(W^T @ dy)``, the *transposed convolution*. This
  is exactly the deconvnet's "filtering" step (Sec. 2.1): transposing the
  im2col matrix is the same as flipping each filter vertically and
  horizontally and swapping its input and output channels.
* w.r.t. the weights: ``dy @ im2col(x)^T``, summed over the batch.
"""
from ..backend import get_array_module
from .columns import batch_chunks, col2im, im2col, window_grid


def _col_bytes(x_shape, w_shape, stride, pad, itemsize):
    (oh, ow), *_ = window_grid(x_shape, w_shape[2:], stride, pad)
    return w_shape[1] * w_shape[2] * w_shape[3] * oh * ow * itemsize


def conv2d(x, W, b=None, stride=1, pad=0):
    """Convolve: x (N, C, H, W), W (F, C, kh, kw), b (F,) -> y (N, F, OH, OW)."""
    xp = get_array_module(x)
    N, F = x.shape[0], W.shape[0]
    (oh, ow), *_ = window_grid(x.shape, W.shape[2:], stride, pad)
    y = xp.empty((N, F, oh, ow), dtype=x.dtype)
    Wm = W.reshape(F, -1)
    for sl in batch_chunks(N, _col_bytes(x.shape, W.shape, stride, pad, x.itemsize)):
        col = im2col(x[sl], W.shape[2:], stride, pad)            # (n, C*kh*kw, OH*OW)
        out = y[sl].reshape(col.shape[0], F, oh * ow)             # a view into y
        xp.matmul(Wm, col, out=out)                               # (F, K) @ (n, K, P)
    if b is not None:
        y += b.reshape(1, F, 1, 1)
    return y


def conv2d_backward_input(dy, W, x_shape, stride=1, pad=0):
    """Transposed convolution: dy (N, F, OH, OW), W (F, C, kh, kw) -> dx of x_shape (N, C, H, W).

    Linear in dy, no bias: the deconvnet's filtering step uses this very function.
    """
    xp = get_array_module(dy)
    N, F = dy.shape[:2]
    dx = xp.empty(tuple(x_shape), dtype=dy.dtype)
    WmT = W.reshape(F, -1).T                                      # (C*kh*kw, F)
    for sl in batch_chunks(N, _col_bytes(x_shape, W.shape, stride, pad, dy.itemsize)):
        n = dy[sl].shape[0]
        dcol = xp.matmul(WmT, dy[sl].reshape(n, F, -1))           # (n, C*kh*kw, OH*OW)
        dx[sl] = col2im(dcol, (n,) + tuple(x_shape[1:]), W.shape[2:], stride, pad)
    return dx


def conv2d_backward_weight(dy, x, kernel_size, stride=1, pad=0):
    """Weight gradient: dy (N, F, OH, OW), x (N, C, H, W) -> dW (F, C, kh, kw)."""
    xp = get_array_module(dy)
    N, F = dy.shape[:2]
    (_, _), (kh, kw), _, _ = window_grid(x.shape, kernel_size, stride, pad)
    w_shape = (F, x.shape[1], kh, kw)
    dW = xp.zeros((F, x.shape[1] * kh * kw), dtype=dy.dtype)
    for sl in batch_chunks(N, _col_bytes(x.shape, w_shape, stride, pad, x.itemsize)):
        col = im2col(x[sl], (kh, kw), stride, pad)                # (n, K, P)
        dyc = dy[sl].reshape(col.shape[0], F, -1)                 # (n, F, P)
        dW += xp.matmul(dyc, col.transpose(0, 2, 1)).sum(axis=0)  # sum_n dy_n @ col_n^T
    return dW.reshape(w_shape)


def conv2d_backward(dy, x, W, stride=1, pad=0):
    """All three gradients: dy (N, F, OH, OW) -> dx (N, C, H, W), dW (F, C, kh, kw), db (F,)."""
    dx = conv2d_backward_input(dy, W, x.shape, stride, pad)
    dW = conv2d_backward_weight(dy, x, W.shape[2:], stride, pad)
    db = dy.sum(axis=(0, 2, 3))
    return dx, dW, db
