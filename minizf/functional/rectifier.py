"""The rectified linear unit: relu(x) = max(x, 0), the paper's "rectify"."""
from ..backend import get_array_module


def relu(x):
    """Rectify: x (any shape) -> max(x, 0) (same shape and dtype)."""
    return get_array_module(x).maximum(x, 0)


def relu_backward(dy, x):
    """Gradient of relu at x: dy (shape of x) -> dy where x > 0, else 0."""
    return dy * (x > 0)


# The paper's word for it.
rectify = relu
