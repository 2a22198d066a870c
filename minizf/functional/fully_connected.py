"""Fully connected layer: y = x W^T + b, with W stored (out, in) as in PyTorch."""


def linear(x, W, b=None):
    """x (N, in), W (out, in), b (out,) -> y (N, out)."""
    y = x @ W.T
    if b is not None:
        y += b
    return y


def linear_backward_input(dy, W):
    """dy (N, out), W (out, in) -> dx (N, in); the transpose of the map x -> x W^T."""
    return dy @ W


def linear_backward(dy, x, W):
    """dy (N, out) -> dx (N, in), dW (out, in), db (out,)."""
    return linear_backward_input(dy, W), dy.T @ x, dy.sum(axis=0)
