"""Convolution: direct loops, numerical gradients, adjoint identities, chunking."""
import numpy as np
import pytest
from hypothesis import given, settings

import minizf.functional.chunks as chunks
from minizf import Conv2D
from minizf.check import adjoint_check, gradcheck
from minizf.functional import conv2d, conv2d_backward, conv2d_backward_input, conv2d_backward_weight
from minizf.functional import window_grid

from .reference import conv2d_direct
from .strategies import conv_geometry


def _arrays(x_shape, w_shape, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype),
            rng.standard_normal(w_shape[0]).astype(dtype))


@given(conv_geometry(max_channels=6))
def test_conv2d_equals_direct_loops(geometry):
    x_shape, w_shape, stride, pad = geometry
    x, W, b = _arrays(x_shape, w_shape)
    np.testing.assert_allclose(conv2d(x, W, b, stride, pad), conv2d_direct(x, W, b, stride, pad),
                               rtol=1e-12, atol=1e-12)


@given(conv_geometry(max_channels=6))
def test_input_gradient_is_the_adjoint_of_conv(geometry):
    x_shape, w_shape, stride, pad = geometry
    _, W, _ = _arrays(x_shape, w_shape)
    (oh, ow), *_ = window_grid(x_shape, w_shape[2:], stride, pad)
    y_shape = (x_shape[0], w_shape[0], oh, ow)
    err = adjoint_check(lambda x: conv2d(x, W, None, stride, pad),
                        lambda dy: conv2d_backward_input(dy, W, x_shape, stride, pad), x_shape, y_shape)
    assert err < 1e-13


@given(conv_geometry(max_channels=6))
def test_weight_gradient_is_the_adjoint_of_conv_in_w(geometry):
    x_shape, w_shape, stride, pad = geometry
    x, _, _ = _arrays(x_shape, w_shape)
    (oh, ow), *_ = window_grid(x_shape, w_shape[2:], stride, pad)
    y_shape = (x_shape[0], w_shape[0], oh, ow)
    err = adjoint_check(lambda W: conv2d(x, W, None, stride, pad),
                        lambda dy: conv2d_backward_weight(dy, x, w_shape[2:], stride, pad),
                        w_shape, y_shape)
    assert err < 1e-13


@settings(max_examples=25)
@given(conv_geometry(max_extra=5, max_channels=5))
def test_conv_layer_gradcheck(geometry):
    x_shape, w_shape, stride, pad = geometry
    layer = Conv2D(w_shape[1], w_shape[0], w_shape[2:], stride, pad).astype(np.float64)
    layer.params["b"] = np.random.default_rng(1).standard_normal(w_shape[0])
    x = np.random.default_rng(2).standard_normal(x_shape)
    result = gradcheck(layer, x, max_checks=40)
    assert result.max_error < 1e-7, str(result)


def test_chunked_batch_gives_the_same_result(monkeypatch):
    x, W, b = _arrays((5, 3, 9, 9), (4, 3, 3, 3), dtype=np.float64)
    dy = np.random.default_rng(3).standard_normal((5, 4, 5, 5))
    whole = conv2d(x, W, b, 2, 1), conv2d_backward(dy, x, W, 2, 1)
    monkeypatch.setattr(chunks, "COL_BUFFER_BYTES", 1)   # one image per chunk
    chunked = conv2d(x, W, b, 2, 1), conv2d_backward(dy, x, W, 2, 1)
    np.testing.assert_allclose(chunked[0], whole[0], rtol=1e-13)
    for a, c in zip(whole[1], chunked[1]):
        np.testing.assert_allclose(c, a, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("channels,size", [(3, 12), (12, 5)])
def test_both_memory_layouts_against_direct_loops(channels, size):
    # Few channels and wide maps: im2col keeps pixels last; many channels: channels last.
    x, W, b = _arrays((2, channels, size, size), (4, channels, 3, 3))
    dy = np.random.default_rng(3).standard_normal((2, 4, size, size))
    np.testing.assert_allclose(conv2d(x, W, b, 1, 1), conv2d_direct(x, W, b, (1, 1), (1, 1)),
                               rtol=1e-12, atol=1e-12)
    # The input gradient is W's transpose: summed over f, a 180-degree-rotated filter.
    rotated = W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    dx, _, _ = conv2d_backward(dy, x, W, 1, 1)
    np.testing.assert_allclose(dx, conv2d_direct(dy, rotated, None, (1, 1), (1, 1)), rtol=1e-12, atol=1e-12)


def test_float32_stays_float32():
    x, W, b = _arrays((2, 3, 8, 8), (4, 3, 3, 3), dtype=np.float32)
    y = conv2d(x, W, b, 1, 1)
    dx, dW, db = conv2d_backward(np.ones_like(y), x, W, 1, 1)
    assert {a.dtype for a in (y, dx, dW, db)} == {np.dtype(np.float32)}


@pytest.mark.parametrize("kernel,stride,pad", [((3, 5), (1, 2), (1, 0)), ((7, 2), (3, 1), (2, 1))])
def test_non_square_kernels_and_strides(kernel, stride, pad):
    x, W, b = _arrays((2, 2, 11, 9), (3, 2) + kernel)
    np.testing.assert_allclose(conv2d(x, W, b, stride, pad), conv2d_direct(x, W, b, stride, pad),
                               rtol=1e-12, atol=1e-12)
