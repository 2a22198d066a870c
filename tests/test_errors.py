"""Bad input gets a clear error naming the layer and the expected vs. actual shape."""
import numpy as np
import pytest

from minizf import LRN, Conv2D, Flatten, Linear, MaxPool2D, ReLU, Sequential


def named(layer, name):
    return Sequential([(name, layer)])[name]


def test_wrong_rank():
    with pytest.raises(ValueError, match=r"conv1 \(Conv2D\).*\(N, C, H, W\).*\(3, 32, 32\)"):
        named(Conv2D(3, 8, 3), "conv1").forward(np.zeros((3, 32, 32), dtype=np.float32))


def test_wrong_channel_count():
    with pytest.raises(ValueError, match=r"conv2 \(Conv2D\): expected input of shape \(N, 3, H, W\), got \(N, 1, 8, 8\)"):
        named(Conv2D(3, 8, 3), "conv2").forward(np.zeros((2, 1, 8, 8), dtype=np.float32))


def test_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match=r"conv1 \(Conv2D\): kernel 7 is larger than the padded input 6"):
        named(Conv2D(1, 1, 7, pad=1), "conv1").forward(np.zeros((1, 1, 4, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"pool1 \(MaxPool2D\).*larger than the padded input"):
        named(MaxPool2D(3, 2), "pool1").forward(np.zeros((1, 1, 2, 2), dtype=np.float32))


@pytest.mark.parametrize("layer", [Conv2D(1, 1, 1), ReLU(), MaxPool2D(2), LRN(), Flatten()])
def test_non_float_input(layer):
    with pytest.raises(TypeError, match="floating-point"):
        layer.forward(np.zeros((1, 1, 4, 4), dtype=np.uint8))


def test_not_an_array():
    with pytest.raises(TypeError, match="numpy or cupy array, got list"):
        ReLU().forward([[1.0]])


def test_dtype_mismatch_with_parameters():
    with pytest.raises(TypeError, match="float64 does not match parameter 'W' dtype float32"):
        Linear(4, 2).forward(np.zeros((1, 4)))


def test_linear_without_flatten():
    with pytest.raises(ValueError, match=r"fc6 \(Linear\): expected input of shape \(N, 48\), got \(N, 3, 4, 4\)"):
        named(Linear(48, 2), "fc6").forward(np.zeros((1, 3, 4, 4), dtype=np.float32))


def test_backward_before_forward_and_wrong_dy_shape():
    layer = named(Conv2D(1, 2, 3), "conv1")
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.zeros((1, 2, 2, 2), dtype=np.float32))
    layer.forward(np.zeros((1, 1, 4, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"conv1 \(Conv2D\): expected dy of shape \(1, 2, 2, 2\).*got \(1, 2, 3, 3\)"):
        layer.backward(np.zeros((1, 2, 3, 3), dtype=np.float32))


def test_nan_in_a_batch():
    net = Sequential([("relu", ReLU())])
    x = np.zeros((4, 1, 2, 2), dtype=np.float32)
    x[2, 0, 1, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN or Inf in images \[2\]"):
        net.forward(x)


def test_bad_reverse_rule():
    layer = ReLU()
    layer.forward(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="unknown reverse rule 'backprop'"):
        layer.reverse(np.zeros((1, 2)), rule="backprop")


def test_pool_pad_larger_than_half_the_kernel():
    with pytest.raises(ValueError, match="MaxPool2D: pad"):
        MaxPool2D(2, pad=2)


@pytest.mark.parametrize("make,error,words", [
    (lambda: Conv2D(3, 0, 3), ValueError, "Conv2D out_channels must be at least 1"),
    (lambda: Conv2D(3.5, 4, 3), TypeError, "Conv2D in_channels must be a whole number"),
    (lambda: Conv2D(3, 4, 2.7), TypeError, "Conv2D kernel_size must be a whole number, got 2.7"),
    (lambda: Conv2D(3, 4, 3, stride=0), ValueError, "Conv2D stride must be at least 1"),
    (lambda: Conv2D(3, 4, 3, pad=-1), ValueError, "Conv2D pad must be at least 0"),
    (lambda: MaxPool2D(0), ValueError, "MaxPool2D kernel_size must be at least 1"),
    (lambda: MaxPool2D(3, stride=(2, 0)), ValueError, "MaxPool2D stride must be at least 1"),
    (lambda: LRN(size=0), ValueError, "LRN size must be at least 1"),
    (lambda: LRN(k=0.0), ValueError, "k > 0"),
    (lambda: Linear(0, 3), ValueError, "Linear in_features must be at least 1"),
    (lambda: Linear(True, 3), TypeError, "whole number"),
])
def test_constructor_arguments_are_validated(make, error, words):
    with pytest.raises(error, match=words):
        make()


@pytest.mark.parametrize("layer", [Conv2D(1, 1, 1), ReLU(), MaxPool2D(2), LRN(), Flatten(), Linear(4, 2)])
def test_an_empty_batch_is_named(layer):
    shape = (0, 4) if isinstance(layer, Linear) else (0, 1, 4, 4)
    with pytest.raises(ValueError, match="empty batch"):
        named(layer, "layer").forward(np.zeros(shape, dtype=np.float32))
