# %% [markdown]
# # Lesson 15 — backprop on a graph: the sum rule at a fork
#
# *Run time: about 2 seconds on a 2-core CPU.*
#
# The paper's network is a chain, and so far every backward was one walk
# down a list. A ResNet is not a chain: a block reads its input twice, once
# through two convs and once directly, and adds the two (`y = F(x) + x`).
# Backprop on a graph needs one new rule, the **sum rule**: a value read by
# several layers receives the *sum* of the gradients they send back. A sum
# node (`Add`) sends its gradient unchanged to each input, and a
# concatenation (`Concat`) hands each input its own slice. The deconvnet's
# reverse pass follows the same two rules (Captum's does too: the tests
# compare them).

# %%
import os

import numpy as np

import minizf as mz
from minizf.plot import image_grid

from minizf.lessons.exercises import out_folder  # noqa: E402

OUT = out_folder()          # $MINIZF_OUT, else out/ beside the script (a notebook: where it runs)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. A residual block as a Graph
# Each node names what it reads; `"input"` is the image batch. `relu1` is
# read twice: by `conv2` and by `add`.

# %%
net = mz.Graph([
    ("conv1", mz.Conv2D(3, 4, 3, pad=1, rng=rng), "input"),
    ("relu1", mz.ReLU(), "conv1"),
    ("conv2", mz.Conv2D(4, 4, 3, pad=1, rng=rng), "relu1"),
    ("bn2", mz.BatchNorm2D(4), "conv2"),
    ("add", mz.Add(), ["bn2", "relu1"]),                    # the fork joins again: y = F(x) + x
    ("relu2", mz.ReLU(), "add"),
    ("gap", mz.AdaptiveAvgPool2D(1), "relu2"),
    ("flatten", mz.Flatten(), "gap"),
    ("fc", mz.Linear(4, 3, rng=rng), "flatten"),
], input_shape=(3, 8, 8)).astype("float64")
print(net.summary((3, 8, 8)))
print("relu1 is read by:", net.consumers("relu1"))

# %% [markdown]
# ## 2. The sum rule by hand
# Run forward, send a gradient `dy` down from `add`, and compute what
# reaches `relu1` along each path: directly (Add passes `dy` on unchanged)
# and through `bn2` and `conv2`. The graph's backward must give `relu1` the
# sum of the two.

# %%
x = rng.standard_normal((2, 3, 8, 8))
y = net.forward(x, upto="add")
dy = rng.standard_normal(y.shape)
dx = net.backward(dy)

direct = dy                                                              # Add: the same dy to each input
through_convs = net["conv2"].backward_input(net["bn2"].backward_input(dy))
by_hand = net["conv1"].backward_input(net["relu1"].backward(direct + through_convs))
print(f"graph backward vs. the sum rule by hand: max difference {np.abs(dx - by_hand).max():.2e}")
one_path_only = net["conv1"].backward_input(net["relu1"].backward(through_convs))
print(f"forgetting the direct path changes dx by {np.abs(dx - one_path_only).max():.2e}")
assert np.allclose(dx, by_hand)

# %% [markdown]
# ## 3. Checked against central differences
# `gradcheck` perturbs every input and weight in float64; in training mode
# BatchNorm normalises with the batch's own statistics, whose backward has
# two extra terms (through the mean and the variance), checked here too.

# %%
for train in (False, True):
    result = mz.gradcheck(net, x, train=train)
    print(f"train={train}: worst relative error {result.max_error:.1e} ({'passed' if result.passed else 'FAILED'})")
    assert result.passed

# %% [markdown]
# ## 4. The deconvnet through the fork
# Projecting a unit of `relu2` down to pixels: the signal splits at `add`,
# goes down both paths, and the two parts are summed at `relu1`, exactly as
# the gradient is (the rules differ only at the ReLUs).

# %%
net.forward(x, upto="relu2")
signal = np.zeros((2, 4, 8, 8))
signal[:, 1, 4, 4] = 1.0
projections = []
for rule in ("deconvnet", "guided", "gradient"):
    projection = net.reverse(signal, "relu2", rule=rule)
    projections.append(projection[0])
    print(f"{rule:>9}: projection {projection.shape}, non-zero pixels {int((projection != 0).sum())}")
print("wrote", image_grid(projections, os.path.join(OUT, "15_graphs.png"), titles=["deconvnet", "guided", "gradient"],
                          signed=True, suptitle="one relu2 unit projected through the residual block"))

# %% [markdown]
# ## Exercises
# **Exercise 1.** Backward through a concatenation of inputs with
# `channels[k]` channels each: hand every input its own slice of `dy`
# (N, sum of channels, H, W). The check is the adjoint identity
# <concat(xs), dy> = sum over k of <x_k, dx_k>, for three inputs.

# %%
from minizf.lessons.exercises import attempt, check  # noqa: E402


def concat_backward_by_hand(dy, channels):
    raise NotImplementedError          # your code here


concat_backward_by_hand = attempt(concat_backward_by_hand, "15_graphs")
with check("concat_backward_by_hand", "input k's slice starts after the channels of all the inputs before it "
                                      "(a running start += c), and is c channels wide"):
    sizes = (2, 3, 4)
    xs = [rng.standard_normal((2, c, 3, 3)) for c in sizes]
    dy = rng.standard_normal((2, sum(sizes), 3, 3))
    parts = concat_backward_by_hand(dy, sizes)
    assert [p.shape for p in parts] == [x.shape for x in xs]
    assert np.isclose(np.vdot(np.concatenate(xs, axis=1), dy), sum(np.vdot(x, p) for x, p in zip(xs, parts)))

# %% [markdown]
# **Exercise 2.** The sum rule at a fork: `y = x W^T + x`, a residual
# connection around a linear layer, reads x twice. Return dx for an
# upstream dy. The check is central differences.

# %%
def residual_backward(dy, x, W):
    raise NotImplementedError          # your code here


residual_backward = attempt(residual_backward, "15_graphs")
with check("residual_backward", "x is read by the layer and by the sum: its gradient is the sum of both "
                                "paths, dy W (through the layer) + dy (straight through)"):
    xr, Wr, dyr = rng.standard_normal((3, 4)), rng.standard_normal((4, 4)), rng.standard_normal((3, 4))
    loss = lambda: float(((xr @ Wr.T + xr) * dyr).sum())        # noqa: E731 - <y, dy>: its gradient is dx
    numeric = np.zeros_like(xr)
    for i in range(xr.size):
        old = xr.flat[i]
        xr.flat[i] = old + 1e-6
        plus = loss()
        xr.flat[i] = old - 1e-6
        minus = loss()
        xr.flat[i] = old
        numeric.flat[i] = (plus - minus) / 2e-6
    assert np.allclose(residual_backward(dyr, xr, Wr), numeric, rtol=1e-6, atol=1e-8)
print("exercises of lesson 15: done")
