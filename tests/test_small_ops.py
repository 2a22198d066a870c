"""ReLU, dropout, linear and softmax cross-entropy."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minizf import Dropout, Linear, ReLU, SoftmaxCrossEntropy
from minizf.backend import make_rng
from minizf.check import adjoint_check, gradcheck
from minizf.functional import dropout, linear, linear_backward_input, relu, softmax_cross_entropy

from .reference import softmax_cross_entropy_direct

small = st.tuples(st.integers(1, 4), st.integers(1, 6))


def test_relu_values():
    x = np.array([-2.0, -0.0, 0.5, 3.0])
    np.testing.assert_array_equal(relu(x), [0.0, 0.0, 0.5, 3.0])


@given(small)
def test_relu_gradcheck(shape):
    x = np.random.default_rng(7).standard_normal(shape)   # not gradcheck's seed 0: dy must differ from x
    x[np.abs(x) < 1e-3] = 0.5          # stay off the kink
    assert gradcheck(ReLU(), x).max_error < 1e-8


@given(small, st.integers(1, 5))
def test_linear_gradcheck_and_adjoint(shape, out_features):
    n, d = shape
    layer = Linear(d, out_features).astype(np.float64)
    layer.params["b"] = np.random.default_rng(1).standard_normal(out_features)
    x = np.random.default_rng(2).standard_normal(shape)
    assert gradcheck(layer, x).max_error < 1e-8
    W = layer.params["W"]
    assert adjoint_check(lambda v: linear(v, W), lambda g: linear_backward_input(g, W),
                         (n, d), (n, out_features)) < 1e-13


def test_dropout_is_inverted_and_identity_at_test_time():
    x = np.ones((200, 500), dtype=np.float32)
    layer = Dropout(0.5, seed=0)
    y = layer.forward(x, train=True)
    assert set(np.unique(y)) == {0.0, 2.0}           # kept units scaled by 1/(1-p)
    assert abs((y == 0).mean() - 0.5) < 0.01
    assert abs(y.mean() - 1.0) < 0.02                 # expectation preserved
    assert y.dtype == np.float32
    np.testing.assert_array_equal(layer.forward(x, train=False), x)


def test_dropout_masks_repeat_under_a_seed_and_backward_uses_the_mask():
    x = np.random.default_rng(0).standard_normal((4, 10))
    y1, m1 = dropout(x, 0.3, make_rng(7))
    y2, m2 = dropout(x, 0.3, make_rng(7))
    np.testing.assert_array_equal(m1, m2)
    layer = Dropout(0.3, seed=1)
    y = layer.forward(x, train=True)
    dy = np.random.default_rng(1).standard_normal(x.shape)
    np.testing.assert_allclose(layer.backward(dy), dy * (y / x), rtol=1e-14)


@given(small, st.floats(0.0, 0.9), st.integers(0, 100))
def test_dropout_gradcheck_with_a_fixed_mask(shape, p, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    assert gradcheck(Dropout(p, seed=seed), x, train=True).max_error < 1e-8


@given(st.integers(1, 6), st.integers(2, 12), st.floats(0.1, 1e3))
def test_cross_entropy_equals_row_by_row_formula(n, c, scale):
    rng = np.random.default_rng(n * c)
    scores = scale * rng.standard_normal((n, c))
    labels = rng.integers(0, c, n)
    loss, probs = softmax_cross_entropy(scores, labels)
    assert loss == pytest.approx(softmax_cross_entropy_direct(scores, labels), rel=1e-10, abs=1e-10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)


def test_cross_entropy_is_stable_for_huge_scores():
    scores = np.array([[1e4, 0.0, -1e4]], dtype=np.float32)
    loss, probs = softmax_cross_entropy(scores, np.array([1]))
    assert np.isfinite(loss) and loss == pytest.approx(1e4)
    assert np.isfinite(probs).all()


@pytest.mark.parametrize("labels,error", [
    (np.array([0, 5]), ValueError), (np.array([0.0, 1.0]), TypeError), (np.array([0]), ValueError),
    (np.array([-1, 0]), ValueError)])
def test_cross_entropy_rejects_bad_labels(labels, error):
    with pytest.raises(error, match="SoftmaxCrossEntropy"):
        SoftmaxCrossEntropy().forward(np.zeros((2, 5), dtype=np.float32), labels)
