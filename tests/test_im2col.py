"""im2col against a window-by-window listing, and col2im as its adjoint."""
import numpy as np
from hypothesis import given

from minizf.check import adjoint_check
from minizf.functional import col2im, im2col
from minizf.functional import window_grid

from .reference import windows_direct
from .strategies import conv_geometry


@given(conv_geometry())
def test_im2col_lists_every_window(geometry):
    x_shape, w_shape, stride, pad = geometry
    x = np.random.default_rng(0).standard_normal(x_shape)
    col = im2col(x, w_shape[2:], stride, pad)             # (C*kh*kw, N*P)
    listed = windows_direct(x, w_shape[2:], stride, pad)  # (N, P, C*kh*kw)
    np.testing.assert_array_equal(col.T.reshape(listed.shape), listed)


@given(conv_geometry())
def test_col2im_is_the_adjoint_of_im2col(geometry):
    x_shape, w_shape, stride, pad = geometry
    k = w_shape[2:]
    (oh, ow), *_ = window_grid(x_shape, k, stride, pad)
    col_shape = (x_shape[1] * k[0] * k[1], x_shape[0] * oh * ow)
    err = adjoint_check(lambda x: im2col(x, k, stride, pad),
                        lambda c: col2im(c, x_shape, k, stride, pad), x_shape, col_shape)
    assert err < 1e-13


def test_col2im_adds_overlaps_so_it_is_not_an_inverse():
    x = np.ones((1, 1, 4, 4))
    back = col2im(im2col(x, 3, 1, 0), x.shape, 3, 1, 0)
    # Pixel (r, c) is read by as many 3x3 windows as cover it: corners 1, centre 4.
    counts = np.array([[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])
    np.testing.assert_array_equal(back[0, 0], counts)


def test_dtype_is_kept():
    x = np.zeros((2, 3, 8, 8), dtype=np.float32)
    col = im2col(x, 3, 2, 1)
    assert col.dtype == np.float32
    assert col2im(col, x.shape, 3, 2, 1).dtype == np.float32
