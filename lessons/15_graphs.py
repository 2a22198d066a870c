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

OUT = os.environ.get("MINIZF_OUT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
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
