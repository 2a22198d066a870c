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
