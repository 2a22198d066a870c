"""Sequential: an end-to-end gradient check, the reverse pass, saving and loading."""
import os

import numpy as np
import pytest

import minizf.io
from minizf import (LRN, Conv2D, Dropout, Flatten, Linear, MaxPool2D, ReLU, Sequential,
                    SoftmaxCrossEntropy)
from minizf.check import gradcheck, gradcheck_layers


def zf_shaped_net(seed=0):
    """conv-relu-pool-lrn, conv-relu-pool-lrn, conv-relu, fc-relu-dropout, fc (8x8 input).

    Its weights come from its own generator: the same net whatever ran before
    (minizf's shared generator would hand out draws that depend on test order).
    """
    rng = np.random.default_rng(seed)
    return Sequential([
        ("conv1", Conv2D(2, 3, 3, stride=1, pad=1, rng=rng)), ("relu1", ReLU()),
        ("pool1", MaxPool2D(3, 2, ceil_mode=True)), ("norm1", LRN(3, alpha=0.5, k=1.0)),
        ("conv2", Conv2D(3, 4, 3, pad=1, rng=rng)), ("relu2", ReLU()),
        ("pool2", MaxPool2D(3, 2, ceil_mode=True)), ("norm2", LRN(3, alpha=0.5, k=1.0)),
        ("conv3", Conv2D(4, 4, 3, pad=1, rng=rng)), ("relu3", ReLU()),
        ("flatten", Flatten()),
        ("fc6", Linear(16, 6, rng=rng)), ("relu6", ReLU()), ("drop6", Dropout(0.5, seed=0)),
        ("fc7", Linear(6, 3, rng=rng)),
    ])


def test_end_to_end_gradcheck_with_softmax_cross_entropy():
    rng = np.random.default_rng(0)
    net = zf_shaped_net().astype(np.float64)
    for _, p, _ in net.named_parameters():
        p += 0.1 * rng.standard_normal(p.shape)       # non-zero biases too
    x = rng.permutation(np.linspace(-1, 1, 2 * 2 * 8 * 8)).reshape(2, 2, 8, 8)
    result = gradcheck(net, x, loss=SoftmaxCrossEntropy(), labels=np.array([0, 2]), train=True)
    assert result.max_error < 1e-6, str(result)
    assert set(result.errors) == {"input"} | {name for name, _, _ in net.named_parameters()}


def test_per_layer_report_finds_a_broken_layer():
    net = zf_shaped_net().astype(np.float64)
    x = np.random.default_rng(1).permutation(np.linspace(-1, 1, 128)).reshape(1, 2, 8, 8)
    assert all(r.passed for r in gradcheck_layers(net, x).values())
    conv2 = net["conv2"]
    conv2.backward_input = lambda dy: 0 * dy.sum() + np.zeros(conv2.x.shape)   # a wrong transpose
    original_backward = type(conv2).backward
    conv2.backward = lambda dy: (original_backward(conv2, dy), conv2.backward_input(dy))[1]
    failed = [name for name, r in gradcheck_layers(net, x).items() if not r.passed]
    assert failed == ["conv2"]


def test_reverse_with_the_gradient_rule_is_backward():
    rng = np.random.default_rng(2)
    net = zf_shaped_net().astype(np.float64)
    x = rng.standard_normal((2, 2, 8, 8))
    y = net.forward(x)
    dy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(net.reverse(dy, "fc7", rule="gradient", lrn="backward"),
                               net.backward(dy), rtol=1e-12, atol=1e-15)


def test_backward_without_the_input_gradient_gives_the_same_parameter_gradients():
    rng = np.random.default_rng(4)
    net = zf_shaped_net().astype(np.float64)
    x = rng.standard_normal((2, 2, 8, 8))
    dy = rng.standard_normal(net.forward(x).shape)
    assert net.backward(dy).shape == x.shape
    full = {name: g.copy() for name, _, g in net.named_parameters()}
    net.forward(x)
    assert net.backward(dy, input_grad=False) is None
    for name, _, g in net.named_parameters():
        np.testing.assert_array_equal(g, full[name], err_msg=name)


def test_forward_keeps_activations_and_stops_at_a_layer():
    net = zf_shaped_net()
    x = np.ones((1, 2, 8, 8), dtype=np.float32)
    out = net.forward(x, keep=True, upto="pool2")
    assert list(net.activations) == net.names[:net.index("pool2") + 1]
    assert out.shape == (1, 4, 2, 2) and net.activations["pool2"] is out
    assert net.backward(np.ones_like(out)).shape == x.shape


def test_save_and_load_round_trip(tmp_path):
    a, b = zf_shaped_net(seed=0), zf_shaped_net(seed=1)
    assert not np.array_equal(a["conv1"].params["W"], b["conv1"].params["W"])
    path = tmp_path / "weights.npz"
    a.save(path)
    b.load(path)
    for (name, p, _), (_, q, _) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p, q, err_msg=name)


def test_load_refuses_a_file_of_another_network(tmp_path):
    path = tmp_path / "other.npz"
    Sequential([("conv1", Conv2D(2, 5, 3)), ("fc9", Linear(3, 3))]).save(path)
    with pytest.raises(ValueError, match=r"missing \[.*'conv2.W'.*unexpected \['fc9.W', 'fc9.b'\].*"
                                         r"conv1.W: expected shape \(3, 2, 3, 3\), got \(5, 2, 3, 3\)"):
        zf_shaped_net().load(path)


def test_load_refuses_a_corrupt_file(tmp_path):
    path = tmp_path / "broken.npz"
    zf_shaped_net().save(path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="not a readable .npz"):
        zf_shaped_net().load(path)


def test_a_failed_save_keeps_the_earlier_file(tmp_path, monkeypatch):
    path = tmp_path / "weights.npz"
    net = zf_shaped_net()
    net.save(path)
    before = path.read_bytes()

    def crash(f, **arrays):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(minizf.io.np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        zf_shaped_net().save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["weights.npz"]      # no temp file left behind


def test_summary_lists_every_layer():
    text = zf_shaped_net().summary((2, 8, 8))
    assert "pool2" in text and "(4, 2, 2)" in text and "fc7" in text
