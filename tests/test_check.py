"""The checking tools must catch wrong code, not only pass right code."""
import numpy as np
import pytest

from minizf import Linear, ReLU, Sequential, SoftmaxCrossEntropy
from minizf.check import adjoint_check, gradcheck, numerical_gradient
from minizf.functional import conv2d, conv2d_backward_input
from minizf.layers import Layer


class Softmax(Layer):
    """A softmax layer whose backward is the classic student bug: it returns zeros."""

    def forward(self, x, train=False):
        self._remember_input(x)
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def backward(self, dy):
        return np.zeros_like(dy)


def test_random_upstream_gradient_catches_a_zero_softmax_backward():
    x = np.random.default_rng(0).standard_normal((3, 5))
    # Checking sum(softmax(x)) would pass: every row sums to 1, so its gradient is 0.
    assert gradcheck(Softmax(), x, dy=np.ones((3, 5))).passed
    result = gradcheck(Softmax(), x)                  # random dy, the default
    assert not result.passed and result["input"] > 0.1


def test_gradcheck_catches_a_wrong_weight_gradient():
    layer = Linear(4, 3).astype(np.float64)
    original = layer.backward

    def wrong_backward(dy):
        dx = original(dy)
        layer.grads["W"] = layer.grads["W"].T.T * 1.01    # 1% off
        return dx

    layer.backward = wrong_backward
    result = gradcheck(layer, np.random.default_rng(1).standard_normal((2, 4)))
    assert result["input"] < 1e-8 and result["W"] > 1e-3 and not result.passed


def test_gradcheck_insists_on_float64():
    with pytest.raises(TypeError, match="float64 input"):
        gradcheck(ReLU(), np.zeros((2, 2), dtype=np.float32))
    with pytest.raises(TypeError, match="fc.W is float32"):
        gradcheck(Sequential([("fc", Linear(2, 2))]), np.zeros((2, 2)))


def test_adjoint_check_catches_an_unflipped_kernel():
    rng = np.random.default_rng(2)
    W = rng.standard_normal((2, 3, 3, 3))
    x_shape, y_shape = (1, 3, 6, 6), (1, 2, 4, 4)
    good = adjoint_check(lambda x: conv2d(x, W), lambda y: conv2d_backward_input(y, W, x_shape),
                         x_shape, y_shape)
    # "Transpose" by convolving with the same, unflipped filters: a classic mistake.
    Wt = W.transpose(1, 0, 2, 3)
    bad = adjoint_check(lambda x: conv2d(x, W), lambda y: conv2d(y, Wt, pad=2), x_shape, y_shape)
    assert good < 1e-14 and bad > 1e-2


def test_numerical_gradient_of_a_known_function():
    x = np.array([1.0, -2.0, 3.0])
    g = numerical_gradient(lambda: float((x ** 3).sum()), x)
    np.testing.assert_allclose(g, 3 * np.array([1.0, 4.0, 9.0]), rtol=1e-9)
    np.testing.assert_array_equal(x, [1.0, -2.0, 3.0])   # restored


def test_report_prints_a_table():
    layer = Linear(3, 2).astype(np.float64)
    text = str(gradcheck(layer, np.ones((1, 3)), loss=SoftmaxCrossEntropy(), labels=np.array([1])))
    assert "input" in text and "W" in text and "yes" in text


def test_gradcheck_warns_about_max_pooling_ties_on_relu_output():
    from minizf import MaxPool2D
    from minizf.check import tie_free_like
    relu_out = np.maximum(np.random.default_rng(0).standard_normal((2, 2, 6, 6)) - 1, 0)   # mostly zeros
    result = gradcheck(MaxPool2D(2), relu_out)
    assert result.kinks and not result.reliable and "ties" in str(result) and "WARNING" in str(result)
    clean = gradcheck(MaxPool2D(2), tie_free_like((2, 2, 6, 6)))
    assert clean.reliable and clean.passed


def test_gradcheck_warns_about_relu_inputs_at_zero():
    x = np.random.default_rng(1).standard_normal((3, 4))
    x[0, :2] = 0.0
    result = gradcheck(ReLU(), x, seed=5)
    assert any("ReLU inputs" in k for k in result.kinks)


def test_a_zero_gradient_is_not_a_failure():
    # Round-off (~1e-10) against a true gradient of 0 must not count as a 100% error.
    x = -1 - np.abs(np.random.default_rng(2).standard_normal((3, 5)))      # ReLU of negatives: gradient 0
    assert gradcheck(ReLU(), x).passed


def test_a_small_gradient_that_is_off_fails():
    class Scaled(Layer):
        """y = 1e-7 x, with a backward 30% too large: an absolute error would let it pass."""

        def forward(self, x, train=False):
            self._remember_input(x)
            return 1e-7 * x

        def backward(self, dy):
            return 1.3e-7 * dy

    result = gradcheck(Scaled(), np.random.default_rng(3).standard_normal((2, 3)))
    assert not result.passed and result["input"] > 10 * result.tol


def test_a_gradient_never_set_is_named():
    layer = Linear(3, 2).astype(np.float64)
    original = layer.backward

    def forgets_b(dy):
        dx = original(dy)
        layer.grads["b"] = None
        return dx

    layer.backward = forgets_b
    with pytest.raises(ValueError, match="gradient of b was never set"):
        gradcheck(layer, np.ones((2, 3)))


def test_report_shows_the_worst_entry():
    layer = Linear(4, 3).astype(np.float64)
    original = layer.backward

    def wrong(dy):
        dx = original(dy)
        layer.grads["W"] = layer.grads["W"].copy()
        layer.grads["W"][2, 1] += 1.0
        return dx

    layer.backward = wrong
    result = gradcheck(layer, np.random.default_rng(4).standard_normal((2, 4)))
    assert result.worst["W"][0] == (2, 1) and "[2, 1]" in str(result)


def test_adjoint_check_is_not_fooled_by_an_overflowing_spike():
    # One entry of 1e200 once overflowed the norms to inf and passed any identity (0 / inf).
    def spike(shape):
        return lambda v: np.where(np.arange(np.prod(shape)).reshape(shape) == 0, 1e200, 0.0)
    spiked = adjoint_check(spike((4,)), spike((3,)), (3,), (4,))
    assert not spiked.passed
    M = np.random.default_rng(0).standard_normal((4, 3)) * 1e150       # large but a true pair
    assert adjoint_check(lambda u: M @ u, lambda v: M.T @ v, (3,), (4,)).passed


def test_adjoint_check_result_has_a_verdict_and_takes_layers():
    from minizf import Conv2D, MaxPool2D
    from minizf.check import AdjointResult, pooling_map
    from minizf.functional import unpool
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 7, 7))
    for layer in (Conv2D(3, 4, 3, stride=2, pad=1).astype(np.float64), MaxPool2D(3, 2), ReLU(),
                  Linear(7, 5).astype(np.float64)):
        result = adjoint_check(layer, x=x if not isinstance(layer, Linear) else x[:, 0, 0])
        assert isinstance(result, AdjointResult) and result.passed and result.probes == 3, layer
    pool = MaxPool2D(3, 2)
    y = pool.forward(x)
    ok = adjoint_check(pooling_map(pool.switches, x.shape), lambda s: unpool(s, pool.switches, x.shape),
                       x.shape, y.shape)
    assert ok.passed and ok.error < 1e-14
    # A "transpose" that sends each value to the last element of its window is not one.
    bad = adjoint_check(pooling_map(pool.switches, x.shape), lambda s: unpool(s, pool.switches + 1, x.shape),
                        x.shape, y.shape)
    assert not bad.passed and "passed=False" in repr(bad)
    from minizf import LRN
    with pytest.raises(TypeError, match="not linear"):
        adjoint_check(LRN(), x=x)
