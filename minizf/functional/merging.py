"""Where branches meet: elementwise sum (residual connections) and channel concatenation.

Their backwards are the two rules of a graph's backward pass: a sum passes its
gradient unchanged to every input, a concatenation hands each input its own
slice of the gradient.
"""
from ..backend import get_array_module


def add(xs):
    """Elementwise sum of same-shaped arrays: [x (N, ...)] * K -> (N, ...)."""
    out = xs[0].copy()
    for x in xs[1:]:
        out += x
    return out


def add_backward(dy, count):
    """Gradient of add: dy -> [dy] * count (each input moved the sum one for one)."""
    return [dy] * count


def concat(xs):
    """Stack along the channel axis: [x (N, C_k, ...)] -> (N, sum C_k, ...)."""
    return get_array_module(xs[0]).concatenate(xs, axis=1)


def concat_backward(dy, channels):
    """Gradient of concat: dy (N, sum C_k, ...) -> [dy[:, slice of input k]] for channels (C_k,)."""
    out, start = [], 0
    for c in channels:
        out.append(dy[:, start:start + c])
        start += c
    return out
