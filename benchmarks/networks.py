"""Whole-network speed and memory against PyTorch.

    python benchmarks/networks.py [--device cuda] [--quick]

* the small 32-px ZF model: one training step (forward, loss, backward, SGD) at batch 128;
* the 224-px ZF model (Fig. 3): forward + backward at batch 8;
* a deconvnet batch: 96 projections from conv5 of the 224-px model (one image;
  PyTorch does the same work as 96 input-gradients of one-hot selections);
* peak memory of the small-model training step, each framework in a fresh process.

Prints a table and writes results/networks_DEVICE.json.
"""
import os
import resource
import subprocess
import sys

import numpy as np
from common import median_times, parse_device, report, torch, torch_setup

from minizf import SoftmaxCrossEntropy, models
from minizf.backend import to_device
from minizf.deconv import Deconvnet
from minizf.layers import LRN, Conv2D, Dropout, Flatten, Linear, MaxPool2D, ReLU
from minizf.train import SGD

HERE = os.path.dirname(os.path.abspath(__file__))


def torch_twin(net):
    """The same architecture and weights in PyTorch (LRN alpha scaled by the size)."""
    nn = torch.nn
    mods = []
    for _, layer in net:
        if isinstance(layer, Conv2D):
            m = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.pad)
        elif isinstance(layer, Linear):
            m = nn.Linear(layer.in_features, layer.out_features)
        elif isinstance(layer, ReLU):
            m = nn.ReLU()
        elif isinstance(layer, MaxPool2D):
            m = nn.MaxPool2d(layer.kernel_size, layer.stride, layer.pad, ceil_mode=layer.ceil_mode)
        elif isinstance(layer, LRN):
            m = nn.LocalResponseNorm(layer.size, layer.alpha * layer.size, layer.beta, layer.k)
        elif isinstance(layer, Dropout):
            m = nn.Dropout(layer.p)
        elif isinstance(layer, Flatten):
            m = nn.Flatten()
        if layer.params:
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(np.asarray(layer.params["W"])))
                m.bias.copy_(torch.from_numpy(np.asarray(layer.params["b"])))
        mods.append(m)
    return nn.Sequential(*mods)


def small_step(device, batch=128):
    """(minizf step, torch step) closures for the small model's training step."""
    net = models.zf_small()
    x = np.random.default_rng(0).random((batch, 3, 32, 32), dtype=np.float32)
    y = np.random.default_rng(1).integers(0, 10, batch)
    ce, sgd = SoftmaxCrossEntropy(), SGD(0.9, 5e-4)
    tnet = torch_twin(net) if torch is not None else None
    net.to(device)
    xd, yd = to_device(x, device), to_device(y, device)

    def ours():
        ce.forward(net.forward(xd, train=True), yd)
        net.backward(ce.backward(), input_grad=False)   # as training: no image gradient
        sgd.step(net, 0.01)

    theirs = None
    if tnet is not None:
        tdev = torch_setup(device)
        tnet.to(tdev).train()
        opt = torch.optim.SGD(tnet.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
        tx, ty = torch.from_numpy(x).to(tdev), torch.from_numpy(y).to(tdev)

        def theirs():
            opt.zero_grad()
            torch.nn.functional.cross_entropy(tnet(tx), ty).backward()
            opt.step()
    return ours, theirs


def big_fwd_bwd(device, batch=8):
    net = models.zfnet()
    x = np.random.default_rng(0).random((batch, 3, 224, 224), dtype=np.float32)
    tnet = torch_twin(net) if torch is not None else None
    net.to(device)
    xd = to_device(x, device)
    dy = to_device(np.random.default_rng(2).standard_normal((batch, 1000)).astype(np.float32), device)

    def ours():
        net.forward(xd, train=True)
        net.backward(dy)

    theirs = None
    if tnet is not None:
        tdev = torch_setup(device)
        tnet.to(tdev).train()
        tx, tdy = torch.from_numpy(x).to(tdev).requires_grad_(True), torch.from_numpy(np.asarray(
            dy.get() if hasattr(dy, "get") else dy)).to(tdev)

        def theirs():
            tnet.zero_grad()
            tnet(tx).backward(tdy)
    return ours, theirs


def deconv_batch(device, k=96):
    net = models.zfnet()
    x = np.random.default_rng(0).random((1, 3, 224, 224), dtype=np.float32)
    conv5 = [i for i, (name, _) in enumerate(net) if name == "conv5"][0]
    tnet = torch_twin(net)[:conv5 + 1] if torch is not None else None
    net.to(device)
    xd = to_device(x, device)
    deconv = Deconvnet(net)

    def ours():
        deconv.project_many(xd, "conv5", np.zeros(k, int), np.arange(k), rule="gradient", lrn="backward")

    theirs = None
    if tnet is not None:
        tdev = torch_setup(device)
        tnet.to(tdev).eval()
        tx = torch.from_numpy(x).to(tdev)

        def theirs():
            xs = tx.expand(k, -1, -1, -1).clone().requires_grad_(True)
            acts = tnet(xs)
            flat = acts.flatten(2)
            grad = torch.zeros_like(flat)
            idx = torch.arange(k)
            top = flat[idx, idx].argmax(dim=1)
            grad[idx, idx, top] = flat[idx, idx, top].detach()
            acts.backward(grad.view_as(acts))
    return ours, theirs


def peak_rss_mb():
    """This process's peak resident memory (VmHWM, Linux). Unlike ru_maxrss it is not
    inherited from the parent process across fork and exec."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_memory(framework, device):
    """Peak RSS growth (MB) over two small-model training steps, in a fresh process after set-up."""
    code = ("import sys; sys.path.insert(0, %r); import networks as n\n"
            "ours, theirs = n.small_step(%r)\n"
            "before = n.peak_rss_mb()\n"
            "step = ours if %r == 'minizf' else theirs\nstep(); step()\n"
            "print(n.peak_rss_mb() - before)" % (HERE, device, framework))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main():
    device = parse_device()
    quick = "--quick" in sys.argv
    rows = []
    cases = [("small ZF train step b128 32px", small_step, None, 7),
             ("ZF 224px fwd+bwd b8", big_fwd_bwd, None, 3),
             ("deconvnet 96 projections from conv5 224px", deconv_batch, None, 3)]
    for name, make, gflop, repeat in cases:
        ours, theirs = make(device)
        t_ours, t_theirs = median_times([ours, theirs], device, 2 if quick else repeat)
        row = {"name": name, "minizf_ms": 1e3 * t_ours, "gflop": gflop}
        if t_theirs is not None:
            row["torch_ms"] = 1e3 * t_theirs
        rows.append(row)
        del ours, theirs
    if device == "cpu" and torch is not None:
        mem = {fw: peak_memory(fw, device) for fw in ("minizf", "torch")}
        print(f"peak memory of one small-model training step: minizf {mem['minizf']:.0f} MB, "
              f"PyTorch {mem['torch']:.0f} MB (ratio {mem['minizf'] / mem['torch']:.2f})")
        rows.append({"name": "small ZF train step peak RSS growth (MB)", "minizf_ms": mem["minizf"],
                     "torch_ms": mem["torch"], "gflop": None})
    report("minizf networks vs PyTorch", rows, os.path.join(HERE, "results", f"networks_{device}.json"), device)


if __name__ == "__main__":
    main()
