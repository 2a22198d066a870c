"""Max-pooling with switches, and unpooling through them."""
import numpy as np
import pytest
from hypothesis import given

from minizf import MaxPool2D
from minizf.check import adjoint_check, gradcheck, tie_free_like
from minizf.functional import max_pool2d, output_size, unpool

from .reference import max_pool_direct
from .strategies import pool_geometry


@given(pool_geometry())
def test_values_and_switches_equal_direct_loops(geometry):
    x_shape, kernel, stride, pad, ceil_mode = geometry
    x = np.random.default_rng(0).standard_normal(x_shape)
    y, switches = max_pool2d(x, kernel, stride, pad, ceil_mode)
    y_ref, switches_ref = max_pool_direct(x, kernel, stride, pad, ceil_mode)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(switches, switches_ref)


@given(pool_geometry())
def test_unpool_is_the_adjoint_of_pooling_with_frozen_switches(geometry):
    x_shape, kernel, stride, pad, ceil_mode = geometry
    x = np.random.default_rng(0).standard_normal(x_shape)
    y, switches = max_pool2d(x, kernel, stride, pad, ceil_mode)
    N, C, H, W = x_shape

    def gather(v):  # the linear map "read the switch positions", with switches held fixed
        return v.reshape(N, C, H * W)[np.arange(N)[:, None, None], np.arange(C)[None, :, None],
                                      switches.reshape(N, C, -1)].reshape(y.shape)

    err = adjoint_check(gather, lambda s: unpool(s, switches, x_shape), x_shape, y.shape)
    assert err < 1e-13


@given(pool_geometry(max_extra=5))
def test_gradcheck_on_tie_free_input(geometry):
    x_shape, kernel, stride, pad, ceil_mode = geometry
    x = tie_free_like(x_shape, seed=1)
    result = gradcheck(MaxPool2D(kernel, stride, pad, ceil_mode), x, eps=1e-7)
    assert result.max_error < 1e-7, str(result)


def test_overlapping_windows_accumulate_in_unpool():
    # 3x3 stride 2 on a 5x5 map whose maximum sits in the centre: all four
    # windows pick pixel (2, 2), so unpooling must deliver 1+2+3+4 there.
    x = -np.ones((1, 1, 5, 5))
    x[0, 0, 2, 2] = 10.0
    y, switches = max_pool2d(x, 3, 2)
    assert (switches == 2 * 5 + 2).all()
    back = unpool(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), switches, x.shape)
    assert back[0, 0, 2, 2] == 10.0 and back.sum() == 10.0


def test_ties_pick_the_first_maximum_in_row_major_order():
    x = np.zeros((1, 1, 2, 2))
    _, switches = max_pool2d(x, 2, 2)
    assert switches.item() == 0
    x[0, 0, 1, :] = 1.0
    _, switches = max_pool2d(x, 2, 2)
    assert switches.item() == 2


def test_padding_is_minus_infinity():
    x = -np.arange(1.0, 10.0).reshape(1, 1, 3, 3)   # all negative
    y, _ = max_pool2d(x, 3, 1, pad=1)
    assert (y < 0).all()                              # a zero pad would have won
    np.testing.assert_array_equal(y, max_pool_direct(x, (3, 3), (1, 1), (1, 1), False)[0])


@pytest.mark.parametrize("size,expected", [(110, 55), (26, 13), (13, 6), (32, 16), (8, 4)])
def test_ceil_mode_sizes_of_the_zf_model(size, expected):
    assert output_size(size, 3, 2, 0, ceil_mode=True) == expected


def test_floor_and_ceil_differ_where_the_paper_needs_it():
    assert output_size(110, 3, 2, 0) == 54 and output_size(110, 3, 2, 0, ceil_mode=True) == 55


def test_ceil_mode_drops_a_window_that_would_start_in_the_padding():
    # size 5, kernel 2, stride 2, pad 1: ceil gives 4 windows, the 4th would start at 6 >= 5+1.
    assert output_size(5, 2, 2, 1, ceil_mode=True) == 3
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    y, switches = max_pool2d(x, 2, 2, 1, ceil_mode=True)
    ref = max_pool_direct(x, (2, 2), (2, 2), (1, 1), True)
    np.testing.assert_array_equal(y, ref[0])
    np.testing.assert_array_equal(switches, ref[1])


def test_pooling_in_chunks_of_the_batch_gives_the_same_result(monkeypatch):
    import minizf.functional.chunks as chunks
    x = np.random.default_rng(3).standard_normal((5, 2, 9, 9))
    whole = max_pool2d(x, 3, 2, 1, True)
    monkeypatch.setattr(chunks, "CACHE_CHUNK_BYTES", 1)          # one image at a time
    for a, b in zip(whole, max_pool2d(x, 3, 2, 1, True)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(whole[1], max_pool_direct(x, (3, 3), (2, 2), (1, 1), True)[1])


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_nan_propagates_and_its_switch_points_at_it_as_in_pytorch(ceil_mode):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 9, 9))
    x[rng.random(x.shape) < 0.08] = np.nan            # some windows with one NaN, some with several
    y, switches = max_pool2d(x, 3, 2, ceil_mode=ceil_mode)
    yt, it = torch.nn.functional.max_pool2d(torch.tensor(x), 3, 2, ceil_mode=ceil_mode, return_indices=True)
    np.testing.assert_array_equal(y, yt.numpy())                      # NaN where PyTorch has NaN
    np.testing.assert_array_equal(switches, it.numpy())
    flat = x.reshape(2, 3, -1)
    picked = np.take_along_axis(flat, switches.reshape(2, 3, -1), axis=2).reshape(y.shape)
    assert np.array_equal(np.isnan(picked), np.isnan(y))             # each NaN output points at a NaN input
