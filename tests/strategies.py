"""Hypothesis strategies: random window geometries for convolution and pooling."""
from hypothesis import strategies as st


@st.composite
def conv_geometry(draw, max_kernel=11, max_extra=7, max_channels=3):
    """(x_shape, w_shape, stride, pad) with non-square kernels, strides 1-4, pads 0-3."""
    kh, kw = draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel))
    sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    H = draw(st.integers(max(1, kh - 2 * ph), max(1, kh - 2 * ph) + max_extra))
    W = draw(st.integers(max(1, kw - 2 * pw), max(1, kw - 2 * pw) + max_extra))
    N, C, F = draw(st.integers(1, 2)), draw(st.integers(1, max_channels)), draw(st.integers(1, 3))
    return (N, C, H, W), (F, C, kh, kw), (sh, sw), (ph, pw)


@st.composite
def pool_geometry(draw, max_kernel=11, max_extra=7):
    """(x_shape, kernel, stride, pad, ceil_mode) with pad at most half the kernel."""
    kh, kw = draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel))
    sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    H = draw(st.integers(max(1, kh - 2 * ph), max(1, kh - 2 * ph) + max_extra))
    W = draw(st.integers(max(1, kw - 2 * pw), max(1, kw - 2 * pw) + max_extra))
    N, C = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    return (N, C, H, W), (kh, kw), (sh, sw), (ph, pw), draw(st.booleans())
