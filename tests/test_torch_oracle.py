"""PyTorch (CPU) as an independent oracle, to float32 tolerance. Skipped without torch."""
import numpy as np
import pytest

from minizf.functional import (conv2d, conv2d_backward, lrn, lrn_backward, max_pool2d,
                               softmax_cross_entropy, softmax_cross_entropy_backward, unpool)

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def t(a, grad=False):
    return torch.tensor(a, requires_grad=grad)


@pytest.mark.parametrize("stride,pad,kernel", [(1, 0, 3), (2, 1, 7), ((2, 1), (0, 2), (5, 3)), (4, 0, 11)])
def test_conv2d_forward_and_backward(stride, pad, kernel):
    rng = np.random.default_rng(0)
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    x = rng.standard_normal((3, 4, 23, 19)).astype(np.float32)
    W = rng.standard_normal((5, 4, kh, kw)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    y = conv2d(x, W, b, stride, pad)
    xt, Wt, bt = t(x, True), t(W, True), t(b, True)
    yt = TF.conv2d(xt, Wt, bt, stride=stride, padding=pad)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-4, atol=1e-4)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    yt.backward(t(dy))
    dx, dW, db = conv2d_backward(dy, x, W, stride, pad)
    for ours, theirs in [(dx, xt.grad), (dW, Wt.grad), (db, bt.grad)]:
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("kernel,stride,pad,ceil_mode", [
    (3, 2, 0, True), (3, 2, 1, False), (2, 2, 0, False), (3, 3, 1, True), ((3, 2), (2, 1), (1, 0), True)])
def test_max_pool_values_switches_and_autograd_backward(kernel, stride, pad, ceil_mode):
    rng = np.random.default_rng(1)
    x = rng.permutation(np.linspace(-1, 1, 2 * 3 * 13 * 11)).reshape(2, 3, 13, 11).astype(np.float32)
    y, switches = max_pool2d(x, kernel, stride, pad, ceil_mode)
    xt = t(x, True)
    yt, it = TF.max_pool2d(xt, kernel, stride, pad, ceil_mode=ceil_mode, return_indices=True)
    np.testing.assert_array_equal(y, yt.detach().numpy())
    np.testing.assert_array_equal(switches, it.numpy())
    dy = rng.standard_normal(y.shape).astype(np.float32)
    yt.backward(t(dy))
    # Overlapping windows: autograd accumulates, as our unpool must.
    np.testing.assert_allclose(unpool(dy, switches, x.shape), xt.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_unpool_equals_max_unpool2d_only_without_overlap():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    y, switches = max_pool2d(x, 2, 2)
    theirs = TF.max_unpool2d(t(y), t(switches.astype(np.int64)), 2, 2, output_size=(8, 8)).numpy()
    np.testing.assert_array_equal(unpool(y, switches, x.shape), theirs)


def test_max_unpool2d_overwrites_where_we_add():
    # The documented pitfall: with 3x3/2 windows sharing a switch, PyTorch keeps one value.
    x = -np.ones((1, 1, 5, 5), dtype=np.float32)
    x[0, 0, 2, 2] = 10.0
    y, switches = max_pool2d(x, 3, 2)
    ours = unpool(y, switches, x.shape)
    theirs = TF.max_unpool2d(t(y), t(switches.astype(np.int64)), 3, 2, output_size=(5, 5)).numpy()
    assert ours[0, 0, 2, 2] == 40.0 and theirs[0, 0, 2, 2] == 10.0


@pytest.mark.parametrize("size,alpha,beta,k", [(5, 1e-4, 0.75, 2.0), (3, 1.0, 0.75, 1.0), (4, 0.5, 0.6, 1.5)])
def test_lrn_is_local_response_norm_with_alpha_times_size(size, alpha, beta, k):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 7, 5, 4)).astype(np.float32)
    xt = t(x, True)
    yt = TF.local_response_norm(xt, size, alpha * size, beta, k)
    np.testing.assert_allclose(lrn(x, size, alpha, beta, k), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    yt.backward(t(dy))
    np.testing.assert_allclose(lrn_backward(dy, x, size, alpha, beta, k), xt.grad.numpy(),
                               rtol=1e-4, atol=1e-5)


def test_cross_entropy_loss_and_gradient():
    rng = np.random.default_rng(4)
    scores = (10 * rng.standard_normal((6, 10))).astype(np.float32)
    labels = rng.integers(0, 10, 6)
    loss, probs = softmax_cross_entropy(scores, labels)
    st = t(scores, True)
    lt = TF.cross_entropy(st, torch.tensor(labels))
    lt.backward()
    assert loss == pytest.approx(lt.item(), rel=1e-5)
    np.testing.assert_allclose(softmax_cross_entropy_backward(probs, labels), st.grad.numpy(),
                               rtol=1e-5, atol=1e-7)
