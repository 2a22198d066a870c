"""Cross-channel LRN: direct loops and gradients, with alpha and k large enough to matter."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minizf import LRN
from minizf.check import gradcheck
from minizf.functional import lrn

from .reference import lrn_direct

shapes = st.tuples(st.integers(1, 2), st.integers(1, 9), st.integers(1, 4), st.integers(1, 4))


@given(shapes, st.integers(1, 7), st.floats(0.1, 2.0), st.floats(0.25, 1.0), st.floats(0.5, 2.5))
def test_lrn_equals_direct_loops(shape, size, alpha, beta, k):
    x = np.random.default_rng(0).standard_normal(shape)
    np.testing.assert_allclose(lrn(x, size, alpha, beta, k), lrn_direct(x, size, alpha, beta, k),
                               rtol=1e-12, atol=1e-14)


@given(shapes, st.integers(1, 7))
def test_gradcheck_with_large_alpha(shape, size):
    # alpha ~ 1 and k ~ 1, so that a wrong window or a wrong cross term shows.
    x = np.random.default_rng(1).standard_normal(shape)
    result = gradcheck(LRN(size, alpha=1.0, beta=0.75, k=1.0), x)
    assert result.max_error < 1e-7, str(result)


def test_paper_defaults():
    layer = LRN()
    assert (layer.size, layer.alpha, layer.beta, layer.k) == (5, 1e-4, 0.75, 2.0)


@pytest.mark.parametrize("size", [1, 3, 5])
def test_window_is_clipped_at_the_edge_channels(size):
    # With one non-zero channel at the edge, its own scale counts only itself.
    x = np.zeros((1, 4, 1, 1))
    x[0, 0] = 2.0
    y = lrn(x, size, alpha=1.0, beta=1.0, k=1.0)
    assert y[0, 0, 0, 0] == pytest.approx(2.0 / (1.0 + 4.0))


def test_lrn_in_chunks_of_the_batch_gives_the_same_result(monkeypatch):
    import minizf.functional.chunks as chunks
    from minizf.functional import lrn_backward
    x = np.random.default_rng(2).standard_normal((5, 6, 3, 3))
    dy = np.random.default_rng(3).standard_normal(x.shape)
    whole = lrn(x, 3, 1.0, 0.75, 1.0), lrn_backward(dy, x, 3, 1.0, 0.75, 1.0)
    monkeypatch.setattr(chunks, "CACHE_CHUNK_BYTES", 1)          # one image at a time
    np.testing.assert_array_equal(lrn(x, 3, 1.0, 0.75, 1.0), whole[0])
    np.testing.assert_array_equal(lrn_backward(dy, x, 3, 1.0, 0.75, 1.0), whole[1])
    np.testing.assert_allclose(whole[0], lrn_direct(x, 3, 1.0, 0.75, 1.0), rtol=1e-12)
