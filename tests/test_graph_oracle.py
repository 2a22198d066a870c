"""A graph with a residual fork, BatchNorm and a concatenation against PyTorch (forward, backward,
running statistics) and against Captum's Deconvolution, GuidedBackprop and Saliency (the three
reverse rules). Skipped without torch (and Captum for the last)."""
import numpy as np
import pytest

from .test_graph import residual_net

torch = pytest.importorskip("torch")
nn = torch.nn


class TorchResidual(nn.Module):
    """The same network as ``residual_net``, written as a PyTorch user would."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1, self.relu1 = nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU()
        self.conv2, self.bn2, self.relu2 = nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.expand1, self.expand3 = nn.Conv2d(4, 3, 1), nn.Conv2d(4, 5, 3, padding=1)
        self.relu3, self.gap, self.fc = nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Linear(8, 5)

    def forward(self, x):
        r = self.relu1(self.bn1(self.conv1(x)))
        y = self.pool(self.relu2(self.bn2(self.conv2(r)) + r))
        y = self.relu3(torch.cat([self.expand1(y), self.expand3(y)], dim=1))
        return self.fc(torch.flatten(self.gap(y), 1))


def mirrored(seed=0):
    """(minizf Graph, the PyTorch module with the same weights and running statistics)."""
    net, model = residual_net(seed), TorchResidual()
    state = {}
    for name, module in model.named_children():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            state[f"{name}.weight"], state[f"{name}.bias"] = net[name].params["W"], net[name].params["b"]
        elif isinstance(module, nn.BatchNorm2d):
            state[f"{name}.weight"], state[f"{name}.bias"] = net[name].params["gamma"], net[name].params["beta"]
            state[f"{name}.running_mean"] = net[name].buffers["running_mean"]
            state[f"{name}.running_var"] = net[name].buffers["running_var"]
    model.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in state.items()}, strict=False)
    return net, model


@pytest.mark.parametrize("train", [False, True])
def test_forward_backward_and_running_statistics_equal_pytorch(train):
    net, model = mirrored()
    model.train(train)
    x = np.random.default_rng(1).standard_normal((4, 3, 8, 8)).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    out = model(xt)
    ours = net.forward(x, train=train)
    np.testing.assert_allclose(ours, out.detach().numpy(), rtol=1e-4, atol=1e-5)
    dy = np.random.default_rng(2).standard_normal(ours.shape).astype(np.float32)
    out.backward(torch.tensor(dy))
    net.zero_grad()
    np.testing.assert_allclose(net.backward(dy), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    for name, theirs in [("conv1.W", model.conv1.weight), ("bn1.gamma", model.bn1.weight),
                         ("bn2.beta", model.bn2.bias), ("expand3.W", model.expand3.weight)]:
        layer, param = name.split(".")
        np.testing.assert_allclose(net[layer].grads[param], theirs.grad.numpy(), rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(net["bn2"].buffers["running_var"], model.bn2.running_var.numpy(), rtol=1e-5)
    np.testing.assert_allclose(net["bn1"].buffers["running_mean"], model.bn1.running_mean.numpy(), atol=1e-6)


@pytest.mark.parametrize("rule,method", [("deconvnet", "Deconvolution"), ("guided", "GuidedBackprop"),
                                         ("gradient", "Saliency")])
def test_the_three_reverse_rules_equal_captum(rule, method):
    captum_attr = pytest.importorskip("captum.attr")
    net, model = mirrored(3)
    model.eval()
    x = np.random.default_rng(4).standard_normal((3, 3, 8, 8)).astype(np.float32)
    target = 2
    net.forward(x, upto="fc")
    signal = np.zeros((3, 5), np.float32)
    signal[:, target] = 1.0                     # d out[:, target]: what Captum starts from
    ours = net.reverse(signal, "fc", rule=rule)
    explainer = getattr(captum_attr, method)(model)
    options = {"abs": False} if method == "Saliency" else {}
    theirs = explainer.attribute(torch.tensor(x, requires_grad=True), target=target, **options).detach().numpy()
    assert np.abs(theirs).max() > 0
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5 * np.abs(theirs).max())
