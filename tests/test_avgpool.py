"""Average pooling, fixed and adaptive: loops, PyTorch, gradient checks, adjoint identities."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minizf import AdaptiveAvgPool2D, AvgPool2D
from minizf.check import adjoint_check, gradcheck
from minizf.functional import adaptive_avg_pool2d, avg_pool2d

from .reference import adaptive_avg_pool_direct, avg_pool_direct


@st.composite
def pool_case(draw):
    """Kernels, strides and pads drawn per side: (kh, kw), (sh, sw), (ph, pw) differ, so no
    row setting can stand in for a column one."""
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    h, w = draw(st.integers(k[0], 9)), draw(st.integers(k[1], 9))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w), k, s, p, draw(st.booleans()), draw(st.booleans())


@given(pool_case())
def test_avg_pool_equals_the_loop(case):
    shape, k, s, p, ceil, include = case
    x = np.random.default_rng(0).standard_normal(shape)
    np.testing.assert_allclose(avg_pool2d(x, k, s, p, ceil, include),
                               avg_pool_direct(x, k, s, p, ceil, include), rtol=1e-12, atol=1e-12)


@given(pool_case())
def test_avg_pool_backward_is_its_transpose_and_its_gradient(case):
    shape, k, s, p, ceil, include = case
    layer = AvgPool2D(k, s, p, ceil, include)
    x = np.random.default_rng(1).standard_normal(shape)
    assert adjoint_check(layer, x=x).passed
    assert gradcheck(layer, x).passed


def test_the_stride_defaults_to_the_kernel_and_a_pad_over_half_the_kernel_is_refused():
    layer = AvgPool2D((3, 2))
    assert layer.stride == (3, 2)
    assert layer.forward(np.ones((1, 1, 9, 8))).shape == (1, 1, 3, 4)
    for pad in [(2, 0), (0, 2), 2]:
        with pytest.raises(ValueError, match="at most half the kernel"):
            AvgPool2D((3, 3), pad=pad)
    AvgPool2D((3, 3), pad=(1, 1))                 # half the kernel, rounded down: allowed


@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 5), st.integers(1, 5))
def test_adaptive_pool_equals_the_loop_and_checks(h, w, oh, ow):
    x = np.random.default_rng(2).standard_normal((2, 3, h, w))
    np.testing.assert_allclose(adaptive_avg_pool2d(x, (oh, ow)), adaptive_avg_pool_direct(x, (oh, ow)), rtol=1e-12)
    layer = AdaptiveAvgPool2D((oh, ow))
    assert adjoint_check(layer, x=x).passed and gradcheck(layer, x).passed


def test_against_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 13, 11))
    for k, s, p, ceil, include in [(3, 2, 1, True, True), (3, 2, 1, True, False), (2, 2, 0, False, True),
                                   (4, 3, 2, True, False)]:
        expected = torch.nn.functional.avg_pool2d(torch.from_numpy(x), k, s, p, ceil, include).numpy()
        np.testing.assert_allclose(avg_pool2d(x, k, s, p, ceil, include), expected, rtol=1e-12, atol=1e-12)
    for out in [(6, 6), (1, 1), (4, 5), (13, 11)]:
        expected = torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(x), out).numpy()
        np.testing.assert_allclose(adaptive_avg_pool2d(x, out), expected, rtol=1e-12, atol=1e-12)
