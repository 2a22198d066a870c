"""The rectified linear unit: relu(x) = max(x, 0), the paper's "rectify".

On a CPU both maps run a few images at a time on every core (``chunks``): a
single pass over a large batch is limited by memory, not arithmetic.
"""
from ..backend import get_array_module
from .chunks import for_batch_chunks


def relu(x):
    """Rectify: x (N, ...) -> max(x, 0) (same shape and dtype)."""
    xp = get_array_module(x)
    if x.ndim == 0:
        return xp.maximum(x, 0)
    y = xp.empty_like(x)
    for_batch_chunks(lambda sl: xp.maximum(x[sl], 0, out=y[sl]), x.shape[0], x[:1].nbytes, xp)
    return y


def relu_backward(dy, x):
    """Gradient of relu at x: dy (shape of x) -> dy where x > 0, else 0."""
    xp = get_array_module(dy)
    if dy.ndim == 0:
        return dy * (x > 0)
    dx = xp.empty_like(dy)
    for_batch_chunks(lambda sl: xp.multiply(dy[sl], x[sl] > 0, out=dx[sl]), dy.shape[0], dy[:1].nbytes, xp)
    return dx


def relu_reverse(signal, x, rule="deconvnet"):
    """A ReLU passed backwards by one of three rules: signal, x (same shape) -> signal going down.

    * "deconvnet" (Sec. 2.1): rectify the signal itself, relu(signal); the
      forward input x plays no part.
    * "gradient": mask by where the forward input was positive, the backward
      pass (a saliency map, Simonyan et al.).
    * "guided": both masks (guided backpropagation, Springenberg et al.).
    """
    if rule == "deconvnet":
        return relu(signal)
    if rule == "gradient":
        return relu_backward(signal, x)
    if rule == "guided":
        return relu_backward(relu(signal), x)
    raise ValueError(f"unknown reverse rule {rule!r}: expected 'deconvnet', 'gradient' or 'guided'")


# The paper's word for it.
rectify = relu
