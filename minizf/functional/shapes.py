"""Output sizes of sliding windows, shared by convolution and pooling."""


def pair(value, name="value"):
    """An int or a pair of ints as a (height, width) tuple of Python ints."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        h, w = value
    else:
        h = w = value
    try:
        return int(h), int(w)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}") from None


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
