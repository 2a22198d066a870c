"""Conventions that a mutation run of 54 hand-made bugs showed no test pinned down.

Each test names the bug that used to survive; each would fail with that bug in place.
"""
import numpy as np
import pytest

import minizf as mz
from minizf import functional as F
from minizf.check import relative_error
from minizf.deconv import Deconvnet, select_activations
from minizf.train import SGD


def test_relu_gradient_at_exactly_zero_is_zero():
    # PyTorch's convention; a backward masking by x >= 0 passes the gradient at 0.
    x = np.array([[-1.0, 0.0, 2.0]])
    np.testing.assert_array_equal(F.relu_backward(np.array([[5.0, 5.0, 5.0]]), x), [[0.0, 0.0, 5.0]])
    layer = mz.ReLU()
    layer.forward(x)
    np.testing.assert_array_equal(layer.backward(np.ones((1, 3))), [[0.0, 0.0, 1.0]])


@pytest.mark.parametrize("p", [0.2, 0.7])
def test_dropout_drops_with_probability_p(p):
    # At p = 0.5 keeping with probability p instead of 1 - p is invisible.
    _, mask = F.dropout(np.ones((500, 400)), p, np.random.default_rng(0))
    kept = (mask > 0).mean()
    assert abs(kept - (1 - p)) < 6 * np.sqrt(p * (1 - p) / mask.size)
    np.testing.assert_allclose(np.unique(mask[mask > 0]), [1 / (1 - p)])


def test_the_three_reverse_rules_differ_on_one_relu():
    # A "deconvnet" rule that also masks by the forward input is "guided".
    x, signal = np.array([[-1.0, 2.0]]), np.array([[3.0, -4.0]])
    layer = mz.ReLU()
    layer.forward(x)
    for rule, expected in [("deconvnet", [[3.0, 0.0]]), ("gradient", [[0.0, -4.0]]), ("guided", [[0.0, 0.0]])]:
        np.testing.assert_array_equal(layer.reverse(signal, rule), expected)
        np.testing.assert_array_equal(F.relu_reverse(signal, x, rule), expected)


def _net():
    mz.seed(3)
    return mz.Sequential([("conv1", mz.Conv2D(3, 4, 3, pad=1)), ("relu1", mz.ReLU()),
                          ("pool1", mz.MaxPool2D(2, 2))]).astype(np.float64)


def test_project_many_uses_each_selections_own_image():
    # Selecting images [2, 2] of 3 must project image 2 twice (a mix-up of the unique images'
    # order and the selections' order goes unseen when the images are 0..N-1 in order).
    net = _net()
    x = np.random.default_rng(0).standard_normal((3, 3, 8, 12))
    many = Deconvnet(net).project_many(x, "pool1", images=[2, 2], channels=[1, 3])
    for k, channel in enumerate([1, 3]):
        alone = Deconvnet(net).project(x[2:3], "pool1", channel)
        np.testing.assert_allclose(many[k], alone[0], rtol=1e-12, atol=1e-12)


def test_strongest_position_on_a_map_that_is_not_square():
    # Row and column of the maximum from its flat index: width 12, not the height 8.
    acts = np.zeros((1, 2, 8, 12))
    acts[0, 1, 3, 10] = 5.0
    signal, selection = select_activations(acts, [1])
    assert tuple(selection.position[0]) == (3, 10)
    assert signal[0, 1, 3, 10] == 5.0 and signal.sum() == 5.0


def test_load_refuses_a_transposed_fc_weight():
    net = mz.Sequential([("fc", mz.Linear(4, 6))])
    state = net.state_dict()
    state["fc.W"] = state["fc.W"].T.copy()                  # same size, (4, 6) instead of (6, 4)
    with pytest.raises(ValueError, match=r"fc.W: expected shape \(6, 4\), got \(4, 6\)"):
        net.load_state_dict(state)


def test_sgd_weight_decay_spares_biases():
    net = mz.Sequential([("fc", mz.Linear(3, 2))]).astype(np.float64)
    net["fc"].params["b"][...] = 1.0
    net["fc"].grads["W"], net["fc"].grads["b"] = np.zeros((2, 3)), np.zeros(2)
    W = net["fc"].params["W"].copy()
    SGD(momentum=0.0, weight_decay=0.5).step(net, lr=0.1)
    np.testing.assert_array_equal(net["fc"].params["b"], [1.0, 1.0])       # zero gradient, no decay
    np.testing.assert_allclose(net["fc"].params["W"], W * (1 - 0.1 * 0.5))  # decayed


def test_relative_error_is_scaled_by_the_largest_entry_not_a_sum():
    a = np.ones(100)
    n = a.copy()
    n[7] = 1.1
    assert relative_error(a, n) == pytest.approx(0.1 / 1.1)                # an L1 sum would give ~0.001
    # and never absolute: a gradient of size 1e-7 that is 30% off is a 30% error
    assert relative_error(np.array([1.3e-7]), np.array([1e-7])) == pytest.approx(0.3 / 1.3)


def test_dropout_without_a_seed_repeats_under_mz_seed():
    # Dropout(seed=None) drew from an unseeded generator: lesson 2 printed a different loss each run.
    masks = []
    for _ in range(2):
        mz.seed(4)
        layer = mz.Dropout(0.5)
        layer.forward(np.ones((10, 10)), train=True)
        masks.append(layer.mask)
    np.testing.assert_array_equal(masks[0], masks[1])


# ---- gradcheck's documented rules (issue: mistakes in check.py no test caught) -------------------

class _BigAndTiny(mz.Layer):
    """y = 100 W x + 1e-3 b, elementwise, with an absolute error of 1e-7 put in db on purpose."""

    def __init__(self):
        super().__init__()
        self.params = {"W": np.linspace(-1, 1, 5) * 1e-4, "b": np.linspace(1, 2, 5)}

    def forward(self, x, train=False):
        self._remember_input(x)
        return 100 * self.params["W"] * x + 1e-3 * self.params["b"]

    def backward(self, dy):
        self.grads["W"] = (100 * dy * self.x).sum(axis=0)
        self.grads["b"] = (1e-3 * dy).sum(axis=0) + 1e-7
        return 100 * self.params["W"] * dy


def test_gradcheck_holds_each_gradient_to_the_largest_of_the_check():
    # db (size 1e-3) is off by 1e-7: 1e-4 of its own size, 1e-9 of the check's largest gradient
    # (dW, size ~100). The rule documented in check.py is the second.
    x = np.random.default_rng(0).standard_normal((3, 5))
    result = mz.gradcheck(_BigAndTiny(), x)
    assert result["b"] < 1e-8 and result.passed
    assert result.scale["W"] > 10 and result.scale["b"] < 1e-2


def test_the_tie_finder_looks_at_the_two_largest_values_of_a_window():
    pool = mz.MaxPool2D(2, 2)
    ties_below = np.array([[[[5.0, 3.0], [1.0, 1.0]]]])        # the two SMALLEST are tied: no kink
    assert not mz.gradcheck(pool, ties_below).kinks
    ties_at_top = np.array([[[[5.0, 5.0], [1.0, 2.0]]]])
    assert mz.gradcheck(pool, ties_at_top).kinks
