"""Inverted dropout: drop with probability p while training, identity at test time.

Kept units are scaled by 1/(1-p) during training, so the expected activation
is unchanged and nothing needs rescaling at test time.
"""


def dropout_mask(shape, p, rng, dtype):
    """The training mask: 0 with probability p, else 1/(1-p); ``rng`` is a numpy/cupy Generator."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    keep = rng.random(shape, dtype="float32") >= p
    # A Python float keeps the array's dtype (NumPy 2 / CuPy scalar promotion).
    return keep.astype(dtype) * (1.0 / (1.0 - p))


def dropout(x, p, rng):
    """Training-time dropout: x (any shape) -> (x * mask, mask)."""
    mask = dropout_mask(x.shape, p, rng, x.dtype)
    return x * mask, mask


def dropout_backward(dy, mask):
    """Gradient of dropout with a fixed mask: dy -> dy * mask."""
    return dy * mask
