"""PyTorch models in and out: same outputs, same gradients, same deconvnet, identity round trips."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from minizf import SoftmaxCrossEntropy  # noqa: E402
from minizf.data import bundled_model  # noqa: E402
from minizf.deconv import Deconvnet  # noqa: E402
from minizf.interop.torch import from_torch, to_torch  # noqa: E402


def alexnet_like():
    """A small AlexNet/ZF-shaped model using every supported module, nested as torchvision's are."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 8, 5, stride=2, padding=2), nn.ReLU(inplace=True),
                      nn.MaxPool2d(3, 2, ceil_mode=True), nn.LocalResponseNorm(5, alpha=5e-2, beta=0.75, k=2.0),
                      nn.Conv2d(8, 12, 3, padding="same", bias=False), nn.ReLU(),
                      nn.MaxPool2d(2, padding=1)),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(12 * 5 * 5, 16), nn.ReLU(), nn.Linear(16, 4)).eval()


def test_outputs_match_pytorch():
    model = alexnet_like()
    x = np.random.default_rng(0).standard_normal((3, 3, 32, 32)).astype(np.float32)
    net = from_torch(model, input_shape=(3, 32, 32))
    assert net.names[:2] == ["0.0", "0.1"] and net.names[-1] == "5"
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net.forward(x), expected, rtol=1e-4, atol=1e-5)


def test_gradients_match_autograd_in_float64():
    model = alexnet_like().double()
    net = from_torch(model, dtype=np.float64)
    rng = np.random.default_rng(1)
    x, labels = rng.standard_normal((4, 3, 32, 32)), rng.integers(0, 4, 4)
    xt = torch.from_numpy(x).requires_grad_(True)
    torch.nn.functional.cross_entropy(model(xt), torch.from_numpy(labels)).backward()
    ce = SoftmaxCrossEntropy()
    ce.forward(net.forward(x), labels)
    dx = net.backward(ce.backward())
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    grads = {name: g for name, _, g in net.named_parameters()}
    np.testing.assert_allclose(grads["0.0.W"], model[0][0].weight.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grads["5.b"], model[5].bias.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grads["0.4.W"], model[0][4].weight.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_the_gradient_rule_of_the_deconvnet_equals_autograd():
    model = alexnet_like().double()
    net = from_torch(model, dtype=np.float64)
    x = np.random.default_rng(2).standard_normal((2, 3, 32, 32))
    projection = Deconvnet(net).project(x, "0.6", channel=5, rule="gradient", lrn="backward")
    # The same thing by autograd: the gradient of the strongest activation of map 5, times its value.
    xt = torch.from_numpy(x).requires_grad_(True)
    acts = model[0](xt)[:, 5].reshape(2, -1)
    best = acts.max(dim=1).values
    (best.detach() * best).sum().backward()
    np.testing.assert_allclose(projection, xt.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_round_trips_are_the_identity():
    model = alexnet_like()
    back = to_torch(from_torch(model))
    returned = {name.replace("_", "."): p.detach().numpy() for name, p in back.named_parameters()}
    for name, p in model.named_parameters():      # PyTorch's "0.0.weight" comes back as "0_0.weight"
        np.testing.assert_array_equal(returned.pop(name), p.detach().numpy(), err_msg=name)
    # the bias-free conv comes back with a zero bias, the only parameter the original lacks
    assert list(returned) == ["0.4.bias"] and not returned["0.4.bias"].any()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        np.testing.assert_allclose(back(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)
    net, _, _ = bundled_model("zf64")
    again = from_torch(to_torch(net))
    for (n1, p1, _), (n2, p2, _) in zip(net.named_parameters(), again.named_parameters()):
        assert n1 == n2
        np.testing.assert_array_equal(p1, p2)


def test_bundled_model_runs_the_same_in_pytorch():
    net, _, _ = bundled_model("zf64")
    x = np.random.default_rng(3).standard_normal((2, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        expected = to_torch(net)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net.forward(x), expected, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("module, words", [
    (nn.Sequential(nn.Conv2d(4, 4, 3, groups=2)), "groups=2"),
    (nn.Sequential(nn.Conv2d(3, 4, 3, dilation=2)), "dilation"),
    (nn.Sequential(nn.MaxPool2d(3, 2, dilation=2)), "dilation"),
    (nn.Sequential(nn.LocalResponseNorm(0)), "size=0"),
    (nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect")), "padding_mode"),
    (nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, track_running_stats=False)), "1 is BatchNorm2d"),
    (nn.Sequential(nn.Conv2d(3, 4, 3), nn.GELU()), "1 is GELU"),
    (nn.Sequential(nn.Flatten(0)), "start_dim=0"),
])
def test_unsupported_modules_are_refused_by_name(module, words):
    with pytest.raises(ValueError, match="not supported") as err:
        from_torch(module)
    assert words in str(err.value) and "supported: Conv2d" in str(err.value)


def test_average_pools_as_in_torchvisions_alexnet():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AvgPool2d(3, 2, 1, ceil_mode=True,
                                                                                  count_include_pad=False),
                          nn.AdaptiveAvgPool2d((6, 6)), nn.Flatten(), nn.Linear(8 * 36, 3)).eval().double()
    net = from_torch(model, dtype=np.float64)
    x = np.random.default_rng(5).standard_normal((2, 3, 21, 19))
    xt = torch.from_numpy(x).requires_grad_(True)
    out = model(xt)
    np.testing.assert_allclose(net.forward(x), out.detach().numpy(), rtol=1e-10, atol=1e-12)
    dy = np.random.default_rng(6).standard_normal(out.shape)
    out.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(net.backward(dy), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    back = to_torch(net)
    with torch.no_grad():
        np.testing.assert_allclose(back(torch.from_numpy(x)).numpy(), out.detach().numpy(), rtol=1e-10)


class Doubled(nn.Module):
    def forward(self, x):
        return torch.sigmoid(x) * 2


class LoudReLU(nn.ReLU):
    def forward(self, x):
        return super().forward(x) * 1.5          # a subclass that changes what the layer computes


class Block(nn.Module):
    def __init__(self, relu):
        super().__init__()
        self.conv, self.relu = nn.Conv2d(3, 3, 3, padding=1), relu

    def forward(self, x):
        return self.relu(self.conv(x)) + x


def test_what_a_conversion_would_drop_is_refused_by_name():
    with pytest.raises(ValueError, match="relu is a LoudReLU, a ReLU with a forward"):
        from_torch(Block(LoudReLU()))
    block = Block(nn.ReLU())
    handle = block.conv.register_forward_hook(lambda m, i, o: o * 0)
    with pytest.raises(ValueError, match="conv \\(Conv2d\\) has a forward hook"):
        from_torch(block)
    handle.remove()
    assert from_torch(block).names == ["conv", "relu", "add"]
    with pytest.raises(ValueError, match="calls sigmoid"):
        from_torch(Doubled())


def test_modules_with_their_own_forward_become_graphs_through_fx():
    from minizf import Graph

    from .torch_models import ResNet18, SqueezeNet11, randomized
    for cls, names in [(ResNet18, ["layer1.0.relu", "layer1.0.relu_1", "layer1.0.add", "layer2.0.downsample.1"]),
                       (SqueezeNet11, ["features.3.concat", "features.3.expand3x3_activation", "flatten"])]:
        model = randomized(cls(), seed=2)
        net = from_torch(model, (3, 96, 96))
        assert isinstance(net, Graph) and all(n in net for n in names), net.names
        x = np.random.default_rng(3).standard_normal((2, 3, 96, 96)).astype(np.float32)
        with torch.no_grad():
            theirs = model(torch.tensor(x)).numpy()
        np.testing.assert_allclose(net.forward(x), theirs, rtol=1e-5, atol=1e-5 * np.abs(theirs).max())


def test_bfloat16_weights_convert_and_meta_tensors_are_refused_by_name():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2)).to(torch.bfloat16)
    net = from_torch(model)
    np.testing.assert_array_equal(net.named_layers()[0][1].params["W"], model[0].weight.detach().float().numpy())
    with torch.device("meta"):
        empty = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    with pytest.raises(ValueError, match="0 holds a tensor on the meta device"):
        from_torch(empty)


class ForkedInPlace(nn.Module):
    """relu(inplace) overwrites conv's output, which the sum reads too: PyTorch adds relu(c) twice."""
    def __init__(self, inplace):
        super().__init__()
        self.conv, self.relu = nn.Conv2d(3, 3, 3, padding=1), nn.ReLU(inplace=inplace)

    def forward(self, x):
        c = self.conv(x)
        return self.relu(c) + c


def test_an_in_place_relu_on_a_tensor_read_again_is_refused_by_name():
    torch.manual_seed(0)
    with pytest.raises(ValueError, match=r"relu \(ReLU\(inplace=True\)\) overwrites conv, which add also reads"):
        from_torch(ForkedInPlace(True))
    model = ForkedInPlace(False)
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(from_torch(model).forward(x), model(torch.tensor(x)).numpy(), rtol=1e-5,
                                   atol=1e-6)
    # in-place on a tensor nobody else reads is harmless, as in every torchvision model
    assert from_torch(alexnet_like()).names


def test_a_model_left_in_training_mode_is_refused_where_it_would_compute_otherwise():
    torch.manual_seed(0)
    with_bn = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    with pytest.raises(ValueError, match=r"1 \(BatchNorm2d\) is in training mode.*model.eval\(\)"):
        from_torch(with_bn)
    with pytest.raises(ValueError, match=r"1 \(Dropout\) is in training mode.*drops units"):
        from_torch(nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(12, 2)))
    assert from_torch(nn.Sequential(nn.Flatten(), nn.Dropout(0.0), nn.Linear(12, 2))).names  # p = 0: the same
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 5)).astype(np.float32)
    with_bn[1].running_var.uniform_(0.5, 2.0)
    with_bn.eval()
    with torch.no_grad():
        np.testing.assert_allclose(from_torch(with_bn).forward(x), with_bn(torch.tensor(x)).numpy(), rtol=1e-5,
                                   atol=1e-5)


@pytest.mark.parametrize("var, eps, words", [(0.0, 0.0, "min variance 0.0, eps 0.0"), (-1.0, 1e-5, "-1.0"),
                                             (float("nan"), 1e-5, "nan")])
def test_batch_norm_variances_that_are_not_positive_are_refused(var, eps, words):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, eps=eps)).eval()
    with torch.no_grad():
        model[1].running_var[2] = var
    with pytest.raises(ValueError, match="1 is BatchNorm2d with a running variance plus eps that is not positive"
                       if var == var else "1 holds NaN or inf") as err:
        from_torch(model)
    assert words in str(err.value) or var != var


def test_nan_weights_and_a_pool_that_keeps_an_axis_are_refused_by_name():
    model = nn.Sequential(nn.Conv2d(3, 4, 3))
    with torch.no_grad():
        model[0].weight[0, 0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match="0 holds NaN or inf values"):
        from_torch(model)
    with pytest.raises(ValueError, match=r"0 is AdaptiveAvgPool2d with output_size=\(None, 2\)"):
        from_torch(nn.Sequential(nn.AdaptiveAvgPool2d((None, 2))))


class CatBatch(nn.Module):
    """torch.cat and torch.flatten with their defaults: along the batch, and into one row."""
    def __init__(self, call):
        super().__init__()
        self.a, self.b, self.call = nn.Conv2d(3, 2, 1), nn.Conv2d(3, 2, 1), call

    def forward(self, x):
        return self.call(self.a(x), self.b(x))


@pytest.mark.parametrize("call, words", [
    (lambda a, b: torch.cat([a, b]), "calls cat"),
    (lambda a, b: torch.flatten(a + b), "calls flatten"),
    (lambda a, b: (a + b).flatten(), "calls flatten"),
])
def test_defaults_that_join_the_batch_are_refused(call, words):
    # torch.cat's default dim is 0 (the batch) and torch.flatten's start_dim 0: neither is minizf's layer
    with pytest.raises(ValueError, match=words):
        from_torch(CatBatch(call))


def test_channel_joins_written_every_way_match_pytorch():
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 4)).astype(np.float32)
    for call in (lambda a, b: torch.cat([a, b], 1), lambda a, b: torch.cat([a, b], dim=-3),
                 lambda a, b: torch.flatten(torch.cat((a, b), 1), 1)):
        torch.manual_seed(0)
        model = CatBatch(call)
        with torch.no_grad():
            np.testing.assert_allclose(from_torch(model).forward(x), model(torch.tensor(x)).numpy(), rtol=1e-5,
                                       atol=1e-6)
