"""The same code on CuPy: every op equals its NumPy result, gradients check on the GPU.

Skipped cleanly where CuPy or a CUDA GPU is missing.
"""
import numpy as np
import pytest

from minizf import functional as F
from minizf import models
from minizf.backend import make_rng, to_device, to_numpy
from minizf.check import gradcheck, tie_free_like
from minizf.deconv import Deconvnet
from minizf.layers import LRN, Conv2D, MaxPool2D

pytestmark = pytest.mark.gpu

rng = np.random.default_rng(0)
X = rng.standard_normal((4, 6, 13, 11)).astype(np.float32)
W = rng.standard_normal((5, 6, 3, 3)).astype(np.float32)
DY = rng.standard_normal((4, 5, 7, 6)).astype(np.float32)


def same(cpu, gpu, rtol=1e-5, atol=1e-5):
    np.testing.assert_allclose(to_numpy(gpu), cpu, rtol=rtol, atol=atol)


def gpu(a):
    return to_device(a, "cuda")


def test_conv_forward_and_backward():
    same(F.conv2d(X, W, None, 2, 1), F.conv2d(gpu(X), gpu(W), None, 2, 1), atol=1e-4)
    for c, g in zip(F.conv2d_backward(DY, X, W, 2, 1), F.conv2d_backward(gpu(DY), gpu(X), gpu(W), 2, 1)):
        same(c, g, atol=1e-3)


def test_pool_switches_and_unpool():
    y, s = F.max_pool2d(X, 3, 2, 1, True)
    yg, sg = F.max_pool2d(gpu(X), 3, 2, 1, True)
    same(y, yg, 0, 0)
    np.testing.assert_array_equal(to_numpy(sg), s)
    same(F.unpool(y, s, X.shape), F.unpool(yg, sg, X.shape), 0, 0)


def test_lrn_relu_dropout_linear_loss():
    same(F.lrn(X, 5, 1.0, 0.75, 1.0), F.lrn(gpu(X), 5, 1.0, 0.75, 1.0))
    same(F.lrn_backward(X, X, 5, 1.0, 0.75, 1.0), F.lrn_backward(gpu(X), gpu(X), 5, 1.0, 0.75, 1.0))
    same(F.relu(X), F.relu(gpu(X)), 0, 0)
    y, mask = F.dropout(gpu(X), 0.5, make_rng(0, "cuda"))
    assert set(np.unique(to_numpy(mask))) <= {0.0, 2.0}
    scores, labels = X.reshape(4, -1)[:, :10], np.array([1, 0, 3, 9])
    loss, probs = F.softmax_cross_entropy(scores, labels)
    loss_g, probs_g = F.softmax_cross_entropy(gpu(scores), gpu(labels))
    assert loss_g == pytest.approx(loss, rel=1e-5)
    same(probs, probs_g)


@pytest.mark.parametrize("layer", [Conv2D(3, 4, 3, 2, 1), MaxPool2D(3, 2, ceil_mode=True), LRN(3, 1.0, 0.75, 1.0)])
def test_gradcheck_on_the_gpu(layer):
    layer.astype(np.float64).to("cuda")
    x = gpu(tie_free_like((2, 3, 9, 9), 1))
    assert gradcheck(layer, x, max_checks=30).max_error < 1e-7


def test_deconvnet_projection_matches_the_cpu():
    net = models.zf_small()
    x = np.random.default_rng(1).random((2, 3, 32, 32)).astype(np.float32)
    cpu = Deconvnet(net).project(x, "conv5", 3)
    net.to("cuda")
    same(cpu, Deconvnet(net).project(gpu(x), "conv5", 3), rtol=1e-3, atol=1e-5)
