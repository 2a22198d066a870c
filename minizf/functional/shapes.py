"""Output sizes of sliding windows, shared by convolution and pooling, and receptive fields."""
import numpy as np


def pair(value, name="value", minimum=None):
    """An int or a pair of ints as a (height, width) tuple of Python ints, each >= minimum if given.

    A float that is not a whole number (a kernel of 2.7) is an error, never rounded."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        h, w = value
    else:
        h = w = value
    return whole(h, name, minimum, value), whole(w, name, minimum, value)


def whole(value, name="value", minimum=None, shown=None):
    """value as a Python int: a TypeError unless it is a whole number, a ValueError below minimum."""
    shown = value if shown is None else shown
    try:
        number = int(value)
        exact = number == value
    except (TypeError, ValueError, OverflowError):
        exact = False
    if not exact or isinstance(value, bool):
        raise TypeError(f"{name} must be a whole number, got {shown!r}")
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {shown!r}")
    return number


def output_size(size, kernel, stride, pad, ceil_mode=False):
    """Number of window positions along one axis.

    floor((size + 2 pad - kernel) / stride) + 1, or ceil instead of floor with
    ``ceil_mode`` (Caffe's rounding, which the ZF model's 110 -> 55 and
    26 -> 13 poolings need). In ceil mode the last window must still start
    inside the input or its left padding, as in PyTorch, so it is dropped
    when it would start in the right padding only.
    """
    span = size + 2 * pad - kernel
    if span < 0:
        raise ValueError(f"kernel {kernel} is larger than the padded input {size + 2 * pad} "
                         f"(input {size}, pad {pad})")
    if ceil_mode:
        out = -(-span // stride) + 1          # integer ceil, no float rounding
        if (out - 1) * stride >= size + pad:  # last window would start in the right padding
            out -= 1
        return out
    return span // stride + 1


def receptive_boxes(windows, size):
    """Input spans of every unit along one axis: windows [(kernel, stride, pad), ...] first layer
    first, size = the units of the last layer -> (size, 2) int array of [start, end), unclipped.

    A layer's outputs [a, b) read its inputs [a*s - p, (b-1)*s + k - p); applying
    that from the last window down to the first gives each unit's span in the
    image. Spans may start below 0 or end past the edge, where padding was read.
    """
    lo = np.arange(size)
    hi = lo + 1
    for kernel, stride, pad in reversed(windows):
        lo, hi = lo * stride - pad, (hi - 1) * stride + kernel - pad
    return np.stack([lo, hi], axis=1)
