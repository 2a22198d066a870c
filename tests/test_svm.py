"""The linear SVM of Table 7: the one-vs-rest hinge loss as a layer, checked like every other."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minizf import Linear, MulticlassHinge, SoftmaxCrossEntropy, gradcheck
from minizf.analysis import linear_probe


def hinge_direct(scores, labels):
    """Row by row, class by class: sum_j max(0, 1 - t_ij s_ij), averaged over rows."""
    total = 0.0
    for i in range(len(scores)):
        for j in range(scores.shape[1]):
            t = 1.0 if j == labels[i] else -1.0
            total += max(0.0, 1.0 - t * scores[i, j])
    return total / len(scores)


@given(st.integers(1, 6), st.integers(2, 9), st.floats(0.1, 10.0), st.integers(0, 1000))
def test_hinge_equals_the_loop(n, c, scale, seed):
    rng = np.random.default_rng(seed)
    scores, labels = scale * rng.standard_normal((n, c)), rng.integers(0, c, n)
    assert MulticlassHinge().forward(scores, labels) == pytest.approx(hinge_direct(scores, labels), rel=1e-12)


@pytest.mark.parametrize("loss", [SoftmaxCrossEntropy, MulticlassHinge])
@given(st.integers(1, 6), st.integers(2, 7), st.integers(0, 1000))
def test_loss_gradcheck_through_a_linear_layer(loss, n, c, seed):
    rng = np.random.default_rng(seed)
    layer = Linear(5, c).astype(np.float64)
    x = 3 * rng.standard_normal((n, 5))
    labels = rng.integers(0, c, n)
    signs = np.where(np.arange(c) == labels[:, None], 1.0, -1.0)
    if loss is MulticlassHinge and np.abs(1 - signs * layer.forward(x)).min() < 1e-3:
        return                              # a hinge's kink within the step: central differences mean nothing
    result = gradcheck(layer, x, loss=loss(), labels=labels)
    assert result.passed, str(result)       # relative to each gradient's own size (tol 1e-6)


def test_hinge_gradient_is_zero_once_every_margin_is_met():
    hinge = MulticlassHinge()
    scores = np.array([[3.0, -2.0, -5.0], [-1.5, -4.0, 2.0]])
    assert hinge.forward(scores, np.array([0, 2])) == 0.0
    assert not hinge.backward().any()
    hinge.forward(np.array([[0.5, 0.0]]), np.array([0]))        # both margins violated
    np.testing.assert_array_equal(hinge.backward(), [[-1.0, 1.0]])


def test_hinge_rejects_bad_labels_by_name():
    with pytest.raises(ValueError, match="MulticlassHinge"):
        MulticlassHinge().forward(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(RuntimeError, match="MulticlassHinge"):
        MulticlassHinge().backward()


@pytest.mark.parametrize("classifier", ["softmax", "svm"])
def test_probe_separates_separable_data_and_not_shuffled_labels(classifier):
    rng = np.random.default_rng(0)
    centres = 4 * rng.standard_normal((4, 20))
    labels = rng.integers(0, 4, 400)
    x = (centres[labels] + rng.standard_normal((400, 20))).astype(np.float32)
    good = linear_probe(x[:300], labels[:300], x[300:], labels[300:], 4, epochs=20, classifier=classifier)
    assert good.test_accuracy > 0.95
    shuffled = rng.permutation(labels[:300])
    chance = linear_probe(x[:300], shuffled, x[300:], labels[300:], 4, epochs=20, classifier=classifier)
    assert chance.test_accuracy < 0.45
