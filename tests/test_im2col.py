"""im2col against a window-by-window listing, and col2im as its adjoint, in both memory layouts."""
import contextlib
from unittest import mock

import numpy as np
import pytest
from hypothesis import given

from minizf.check import adjoint_check
from minizf.functional import col2im, columns, filter_matrix, filters_from_matrix, im2col
from minizf.functional import window_grid

from .reference import windows_direct
from .strategies import conv_geometry


LAYOUTS = ["channels_last", "pixels_last", "chosen"]


def forced(layout):
    """Within it, im2col and col2im use this memory layout ("chosen": the one they pick)."""
    if layout == "chosen":
        return contextlib.nullcontext()
    return mock.patch.object(columns, "channels_last", lambda *args: layout == "channels_last")


@pytest.mark.parametrize("layout", LAYOUTS)
@given(geometry=conv_geometry(max_channels=6))
def test_im2col_lists_every_window(layout, geometry):
    x_shape, (_, C, kh, kw), stride, pad = geometry
    x = np.random.default_rng(0).standard_normal(x_shape)
    with forced(layout):
        rows = im2col(x, (kh, kw), stride, pad)            # (N*P, kh*kw*C), entries (i, j, c)
    listed = windows_direct(x, (kh, kw), stride, pad)      # (N, P, C*kh*kw), entries (c, i, j)
    N, P = listed.shape[:2]
    as_listed = rows.reshape(N, P, kh, kw, C).transpose(0, 1, 4, 2, 3).reshape(listed.shape)
    np.testing.assert_array_equal(as_listed, listed)


@given(geometry=conv_geometry(max_channels=6))
def test_filter_matrix_matches_the_rows_and_inverts(geometry):
    # Row r of im2col dotted with filter f's row is that filter's output at window r.
    x_shape, w_shape, stride, pad = geometry
    rng = np.random.default_rng(1)
    x, W = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    rows = im2col(x, w_shape[2:], stride, pad)
    listed = windows_direct(x, w_shape[2:], stride, pad).reshape(rows.shape[0], -1)
    np.testing.assert_allclose(rows @ filter_matrix(W).T, listed @ W.reshape(w_shape[0], -1).T,
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(filters_from_matrix(filter_matrix(W), w_shape), W)


@pytest.mark.parametrize("layout", LAYOUTS)
@given(geometry=conv_geometry(max_channels=6))
def test_col2im_is_the_adjoint_of_im2col(layout, geometry):
    x_shape, w_shape, stride, pad = geometry
    k = w_shape[2:]
    (oh, ow), *_ = window_grid(x_shape, k, stride, pad)
    col_shape = (x_shape[0] * oh * ow, x_shape[1] * k[0] * k[1])
    with forced(layout):
        err = adjoint_check(lambda x: im2col(x, k, stride, pad),
                            lambda c: col2im(c, x_shape, k, stride, pad), x_shape, col_shape)
    assert err < 1e-13


@pytest.mark.parametrize("layout", LAYOUTS)
def test_col2im_adds_overlaps_so_it_is_not_an_inverse(layout):
    x = np.ones((1, 1, 4, 4))
    with forced(layout):
        back = col2im(im2col(x, 3, 1, 0), x.shape, 3, 1, 0)
    # Pixel (r, c) is read by as many 3x3 windows as cover it: corners 1, centre 4.
    counts = np.array([[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])
    np.testing.assert_array_equal(back[0, 0], counts)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_dtype_is_kept(layout):
    x = np.zeros((2, 3, 8, 8), dtype=np.float32)
    with forced(layout):
        col = im2col(x, 3, 2, 1)
        assert col.dtype == np.float32
        assert col2im(col, x.shape, 3, 2, 1).dtype == np.float32
