"""Per-op speed against PyTorch: conv, pooling with switches, LRN, linear, softmax-CE.

    python benchmarks/ops.py [--device cuda]

Shapes are those of the small 32-px ZF model at batch 128 and of the 224-px
model's first layers at batch 8. Prints a table and writes results/ops_DEVICE.json.
"""
import os

import numpy as np
from common import median_times, parse_device, report, torch, torch_setup

from minizf import functional as F
from minizf.backend import to_device, to_numpy

CONVS = [  # name, x shape, W shape, stride, pad
    ("conv1 32px b128 3->64 3x3", (128, 3, 32, 32), (64, 3, 3, 3), 1, 1),
    ("conv2 32px b128 64->128 3x3", (128, 64, 16, 16), (128, 64, 3, 3), 1, 1),
    ("conv4 32px b128 192->192 3x3", (128, 192, 8, 8), (192, 192, 3, 3), 1, 1),
    ("conv1 224px b8 3->96 7x7/2", (8, 3, 224, 224), (96, 3, 7, 7), 2, 1),
    ("conv2 224px b8 96->256 5x5/2", (8, 96, 55, 55), (256, 96, 5, 5), 2, 0),
]
POOLS = [("pool 3x3/2 ceil b128 64x32x32", (128, 64, 32, 32)),
         ("pool 3x3/2 ceil b8 96x110x110", (8, 96, 110, 110))]


class Bench:
    def __init__(self, device):
        self.device, self.tdev = device, torch_setup(device)
        self.rng = np.random.default_rng(0)
        self.rows = []

    def arr(self, shape):
        return to_device(self.rng.standard_normal(shape, dtype=np.float32), self.device)

    def tensor(self, a, grad=False):
        return torch.tensor(to_numpy(a), device=self.tdev, requires_grad=grad)

    def add(self, name, ours, theirs=None, gflop=None):
        t_ours, t_theirs = median_times([ours, theirs if torch is not None else None], self.device)
        row = {"name": name, "minizf_ms": 1e3 * t_ours, "gflop": gflop}
        if t_theirs is not None:
            row["torch_ms"] = 1e3 * t_theirs
        self.rows.append(row)


def conv(b, name, xs, ws, s, p):
    x, W = b.arr(xs), b.arr(ws)
    y = F.conv2d(x, W, None, s, p)
    dy = b.arr(y.shape)
    gflop = 2 * np.prod(y.shape) * np.prod(ws[1:]) / 1e9
    theirs_f = theirs_fb = None
    if torch is not None:
        tx, tW, tdy = b.tensor(x, True), b.tensor(W, True), b.tensor(dy)

        def theirs_f():
            return torch.nn.functional.conv2d(tx, tW, None, s, p)

        def theirs_fb():
            torch.autograd.grad(theirs_f(), (tx, tW), tdy)

    def ours_fb():
        F.conv2d(x, W, None, s, p)
        F.conv2d_backward(dy, x, W, s, p)
    b.add(f"{name} fwd", lambda: F.conv2d(x, W, None, s, p), theirs_f, gflop)
    b.add(f"{name} fwd+bwd", ours_fb, theirs_fb, 3 * gflop)


def pool(b, name, xs):
    x = b.arr(xs)
    y, switches = F.max_pool2d(x, 3, 2, 0, True)
    dy = b.arr(y.shape)
    theirs_f = theirs_fb = None
    if torch is not None:
        tx, tdy = b.tensor(x, True), b.tensor(dy)

        def theirs_f():
            return torch.nn.functional.max_pool2d(tx, 3, 2, 0, ceil_mode=True, return_indices=True)

        def theirs_fb():
            torch.autograd.grad(theirs_f()[0], tx, tdy)

    def ours_fb():
        _, sw = F.max_pool2d(x, 3, 2, 0, True)
        F.unpool(dy, sw, x.shape)
    b.add(f"{name} fwd (+switches)", lambda: F.max_pool2d(x, 3, 2, 0, True), theirs_f)
    b.add(f"{name} fwd+bwd", ours_fb, theirs_fb)


def lrn(b):
    x, dy = b.arr((128, 64, 16, 16)), b.arr((128, 64, 16, 16))
    theirs_f = theirs_fb = None
    if torch is not None:
        tx, tdy = b.tensor(x, True), b.tensor(dy)

        def theirs_f():      # PyTorch divides alpha by the size: alpha * size here
            return torch.nn.functional.local_response_norm(tx, 5, 5e-4, 0.75, 2.0)

        def theirs_fb():
            torch.autograd.grad(theirs_f(), tx, tdy)

    def ours_fb():
        F.lrn(x)
        F.lrn_backward(dy, x)
    b.add("LRN b128 64x16x16 fwd", lambda: F.lrn(x), theirs_f)
    b.add("LRN b128 64x16x16 fwd+bwd", ours_fb, theirs_fb)


def linear_and_loss(b):
    x, W, dy = b.arr((128, 2048)), b.arr((512, 2048)), b.arr((128, 512))
    scores = b.arr((128, 1000))
    labels = to_device(np.random.default_rng(1).integers(0, 1000, 128), b.device)
    theirs_l = theirs_ce = None
    if torch is not None:
        tx, tW, tdy = b.tensor(x, True), b.tensor(W, True), b.tensor(dy)
        ts, tl = b.tensor(scores, True), torch.tensor(to_numpy(labels), device=b.tdev)

        def theirs_l():
            torch.autograd.grad(torch.nn.functional.linear(tx, tW), (tx, tW), tdy)

        def theirs_ce():
            torch.autograd.grad(torch.nn.functional.cross_entropy(ts, tl), ts)

    def ours_l():
        F.linear(x, W)
        F.linear_backward(dy, x, W)

    def ours_ce():
        _, probs = F.softmax_cross_entropy(scores, labels)
        F.softmax_cross_entropy_backward(probs, labels)
    b.add("linear b128 2048->512 fwd+bwd", ours_l, theirs_l, 3 * 2 * 128 * 2048 * 512 / 1e9)
    b.add("softmax-CE b128 x 1000 fwd+bwd", ours_ce, theirs_ce)


def main():
    b = Bench(parse_device())
    for case in CONVS:
        conv(b, *case)
    for case in POOLS:
        pool(b, *case)
    lrn(b)
    linear_and_loss(b)
    here = os.path.dirname(os.path.abspath(__file__))
    report("minizf ops vs PyTorch", b.rows, os.path.join(here, "results", f"ops_{b.device}.json"), b.device)


if __name__ == "__main__":
    main()
