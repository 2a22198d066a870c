# %% [markdown]
# # Lesson 3 — the deconvnet, step by step
#
# *Run time: about a second on a 2-core CPU.*
#
# Zeiler & Fergus (Sec. 2.1) look at one activation by sending it back down
# to pixels. Going down, each layer undoes its forward step as well as a
# linear map can:
#
# * **unpool**: put each value back where the maximum was (the *switches*
#   recorded by the forward max-pooling);
# * **rectify**: a ReLU on the signal going down;
# * **filter**: the transposed convolution (the same filters, flipped).
#
# These are exactly the backward functions training uses. Here we do the
# steps by hand on a small network with random weights and a real photo,
# then check that `Deconvnet.project` does the same.

# %%
import os

import numpy as np

import minizf as mz
from minizf import functional as F
from minizf.data import load_image, sample_path
from minizf.deconv import Deconvnet, cut_patch, receptive_field
from minizf.plot import image_grid

from minizf.lessons.exercises import out_folder  # noqa: E402

OUT = out_folder()          # $MINIZF_OUT, else out/ beside the script (a notebook: where it runs)

# %% [markdown]
# ## 1. A small network and a photo
# Two conv layers with pooling, on a 64x64 crop of a cat photo. The weights
# are random, so the projections show the *mechanics*; lesson 5 uses a
# trained network. The first layer gets oriented edge filters so its
# projections have some structure to show.

# %%
mz.seed(0)
net = mz.Sequential([
    ("conv1", mz.Conv2D(3, 8, 5, stride=1, pad=2)), ("relu1", mz.ReLU()),
    ("pool1", mz.MaxPool2D(3, 2, ceil_mode=True)),
    ("conv2", mz.Conv2D(8, 16, 3, pad=1)), ("relu2", mz.ReLU()),
    ("pool2", mz.MaxPool2D(3, 2, ceil_mode=True)),
], input_shape=(3, 64, 64))
yy, xx = np.mgrid[-2:3, -2:3]
for f in range(8):                           # Gabor-like edges at 8 orientations
    angle = np.pi * f / 8
    wave = np.cos(1.2 * (xx * np.cos(angle) + yy * np.sin(angle))) * np.exp(-(xx ** 2 + yy ** 2) / 4)
    net["conv1"].params["W"][f] = (wave / np.abs(wave).sum()).astype(np.float32)[None] * [[[1]], [[-0.5]], [[-0.5]]]
photo = load_image(sample_path("chelsea"), size=64)
x = (photo - photo.mean(axis=(1, 2), keepdims=True))[None]           # (1, 3, 64, 64)
print(net.summary((3, 64, 64)))

# %% [markdown]
# ## 2. Forward, keeping the switches
# `forward(..., keep=True)` stores every layer's output; each `MaxPool2D`
# stores its switches: for each output, the index `h * W + w` of the input
# that won its window.

# %%
net.forward(x, keep=True)
pool2 = net.activations["pool2"]
channel = int(pool2[0].reshape(16, -1).max(axis=1).argmax())        # the strongest map
i, j = np.unravel_index(pool2[0, channel].argmax(), pool2.shape[2:])
value = pool2[0, channel, i, j]
print(f"strongest pool2 activation: map {channel} at ({i}, {j}), value {value:.3f}")
relu2_h, relu2_w = net["pool2"].x.shape[2:]
print(f"pool2 switches of that map: 16x16 indices h*{relu2_w} + w into the {relu2_h}x{relu2_w} relu2 "
      "output\n", net["pool2"].switches[0, channel])

# %% [markdown]
# ## 3. Down by hand: unpool, rectify, filter — twice
# Start from a map of zeros holding only the chosen activation.

# %%
signal = np.zeros_like(pool2)
signal[0, channel, i, j] = value
s = F.unpool(signal, net["pool2"].switches, net["pool2"].x.shape)     # unpool with the switches
print("after unpool: the value sits at relu2 pixel", [int(v) for v in np.argwhere(s[0, channel])[0]])
s = F.relu(s)                                                          # rectify
s = F.conv2d_backward_input(s, net["conv2"].params["W"], net["conv2"].x.shape, 1, 1)   # filter
s = F.unpool(s, net["pool1"].switches, net["pool1"].x.shape)
s = F.relu(s)
by_hand = F.conv2d_backward_input(s, net["conv1"].params["W"], x.shape, 1, 2)
print("projection shape:", by_hand.shape)

# %% [markdown]
# ## 4. The same with `Deconvnet.project`
# `project` does exactly these calls, layer by layer, through each layer's
# `reverse` method.

# %%
deconv = Deconvnet(net)
projection = deconv.project(x, "pool2", channel, position=(i, j))
print("max difference from the hand-made steps:", np.abs(projection - by_hand).max())

# %% [markdown]
# ## 5. Where can the projection be non-zero?
# Only inside the unit's receptive field: every layer reads a window, and the
# windows compose. Outside the box, the projection is exactly zero.

# %%
field = receptive_field(net, "pool2")
top, bottom, left, right = field.box(i, j)
print(f"receptive field of pool2 ({i}, {j}): rows [{top}, {bottom}), columns [{left}, {right}); "
      f"full size {field.size}")
outside = projection.copy()
outside[:, :, top:bottom, left:right] = 0
print("largest |value| outside the box:", np.abs(outside).max())

# %% [markdown]
# ## 6. Three rules for the ReLU on the way down
# `"deconvnet"` rectifies the signal (Zeiler & Fergus); `"gradient"` masks it
# where the forward input was negative (plain backprop: the image gradient
# of the activation, times its value); `"guided"` does both.

# %%
rules = {rule: deconv.project(x, "pool2", channel, (i, j), rule=rule)[0]
         for rule in ("deconvnet", "gradient", "guided")}
for rule, p in rules.items():
    print(f"{rule:>9}: {np.count_nonzero(p)} non-zero pixels, sum of |values| {np.abs(p).sum():.4f}")
for a, b in [("deconvnet", "gradient"), ("deconvnet", "guided"), ("gradient", "guided")]:
    differ = int((np.abs(rules[a] - rules[b]) > 1e-7).sum())
    print(f"pixels where {a} and {b} differ: {differ}")

# %% [markdown]
# The three projections cover the same pixels: the switches fix where the
# signal can go, and the first layer's filters spread it over the same 5x5
# windows. The rules differ only in which *values* pass each ReLU on the way
# down, so the same pixels receive different amounts.
#
# As in the paper's figures, we show each projection cut to the receptive
# field, beside the image patch itself, with 0 as mid-grey.

# %%
patch = cut_patch(photo, field, i, j)
crops = [cut_patch(p, field, i, j) for p in rules.values()]
path = image_grid([photo, patch] + crops, os.path.join(OUT, "03_deconvnet.png"),
                  titles=["photo", "receptive field"] + list(rules), ncols=5,
                  signed=[False, False, True, True, True],
                  suptitle=f"pool2 map {channel} at ({i}, {j}) projected to pixels")
print("wrote", path)

# %% [markdown]
# ## Exercises
# **Exercise 1.** Write the three reverse rules of a ReLU (section 6) yourself: "deconvnet"
# rectifies the signal, "gradient" masks it where the forward input x was
# not positive, "guided" does both. Until you do, the solution in
# `lessons/solutions/03_deconvnet.py` runs. (`minizf assignment make deconv`
# grades the whole deconvnet.)

# %%
from minizf.lessons.exercises import attempt, check  # noqa: E402


def reverse_relu(signal, x, rule):
    raise NotImplementedError          # your code here


reverse_relu = attempt(reverse_relu, "03_deconvnet")
xe, se = np.array([[-1.0, 0.0, 2.0]]), np.array([[3.0, 5.0, -4.0]])   # one example tells the rules apart,
with check("reverse_relu", "deconvnet keeps the signal where the signal is positive, gradient where the "
                           "forward input x was positive (x = 0 is not), guided needs both"):
    for rule, expected in [("deconvnet", [[3, 5, 0]]), ("gradient", [[0, 0, -4]]),  # and x = 0 is not positive
                           ("guided", [[0, 0, 0]])]:
        assert (reverse_relu(se, xe, rule) == expected).all(), rule
        z, g = np.random.default_rng(1).standard_normal((2, 2, 3, 4, 4))
        assert np.array_equal(reverse_relu(g, z, rule), F.relu_reverse(g, z, rule)), rule

# %% [markdown]
# **Exercise 2.** Unpooling: send each value of `pooled` (N, C, OH, OW) back
# to the position its switch names in a zero map of `shape` (N, C, H, W)
# (switches hold h * W + w within each map). Pooling windows overlap (3x3,
# stride 2), so two values may go to one place. The check is the adjoint
# identity: unpooling is the transpose of taking each window's maximum,
# <pool(x), g> = <x, unpool(g)> for any g.

# %%
def unpool_by_hand(pooled, switches, shape):
    raise NotImplementedError          # your code here


unpool_by_hand = attempt(unpool_by_hand, "03_deconvnet")
with check("unpool_by_hand", "where windows overlap one position receives several values: add them "
                             "(np.add.at on the flattened maps), do not assign"):
    xp_ = np.random.default_rng(3).standard_normal((2, 3, 9, 9))
    pooled_, switches_ = F.max_pool2d(xp_, (3, 3), (2, 2), (0, 0), False)
    g_ = np.random.default_rng(4).standard_normal(pooled_.shape)
    back_ = unpool_by_hand(g_, switches_, xp_.shape)
    assert back_.shape == xp_.shape and np.isclose(np.vdot(pooled_, g_), np.vdot(xp_, back_))
    flat_ = np.zeros((1, 1, 3, 3))
    _, sw_ = F.max_pool2d(flat_ + np.eye(3)[None, None], (2, 2), (1, 1), (0, 0), False)   # the centre wins twice
    assert unpool_by_hand(np.ones((1, 1, 2, 2)), sw_, flat_.shape).sum() == 4
print("exercises of lesson 3: done")
