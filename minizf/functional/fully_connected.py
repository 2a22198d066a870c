"""Fully connected layer: y = x W^T + b, with W stored (out, in) as in PyTorch.

On a CPU each core takes its own share of the batch's rows (``chunks``), as
the convolutions do; the weight gradient adds up the shares' products.
"""
from ..backend import get_array_module
from .chunks import add_shares, over_shares


def linear(x, W, b=None):
    """x (N, in), W (out, in), b (out,) -> y (N, out)."""
    xp = get_array_module(x)
    y = xp.empty((x.shape[0], W.shape[0]), dtype=x.dtype)

    def rows(sl):
        xp.matmul(x[sl], W.T, out=y[sl])
        if b is not None:
            y[sl] += b
    over_shares(rows, x.shape[0], xp)
    return y


def linear_backward_input(dy, W):
    """dy (N, out), W (out, in) -> dx (N, in); the transpose of the map x -> x W^T."""
    xp = get_array_module(dy)
    dx = xp.empty((dy.shape[0], W.shape[1]), dtype=dy.dtype)
    over_shares(lambda sl: xp.matmul(dy[sl], W, out=dx[sl]), dy.shape[0], xp)
    return dx


def linear_backward(dy, x, W):
    """dy (N, out) -> dx (N, in), dW (out, in), db (out,)."""
    xp = get_array_module(dy)
    dW, db = add_shares(over_shares(lambda sl: (dy[sl].T @ x[sl], dy[sl].sum(axis=0)), dy.shape[0], xp))
    return linear_backward_input(dy, W), dW, db
