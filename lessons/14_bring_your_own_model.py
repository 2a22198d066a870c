# %% [markdown]
# # Lesson 14 — bring your own model: PyTorch, ONNX, and the unit explorer
#
# *Run time: about 9 seconds on a 2-core CPU.*
#
# Everything in lessons 3-10 works on any sequential CNN, not only on the
# ones minizf trained. This lesson takes the bundled `zf64` to PyTorch and to
# ONNX and back, brings a network built in PyTorch into minizf, looks at one
# of its units with the deconvnet, and writes the unit explorer: a website
# of every unit of a layer, its top-9 images and their projections.

# %%
import os

import numpy as np

from minizf.data import normalize
from minizf.deconv import Deconvnet
from minizf.explorer import explore
from minizf.interop.onnx import load_onnx, save_onnx
from minizf.plot import image_grid
from minizf.figures import default_model, images_for

from minizf.lessons.exercises import out_folder  # noqa: E402

OUT = out_folder()          # $MINIZF_OUT, else out/ beside the script (a notebook: where it runs)
os.makedirs(OUT, exist_ok=True)
N = 60 if os.environ.get("MINIZF_QUICK") else 500
try:
    import torch
except ImportError:                  # torch is optional: the PyTorch cells say so and step aside
    torch = None
try:
    import onnx
except ImportError:                  # so is onnx: pip install "minizf[onnx]"
    onnx = None

# %% [markdown]
# ## 1. minizf -> ONNX -> minizf
# `save_onnx` writes an ONNX graph (opset 17) with the mean image and the
# classes in its metadata; any ONNX runtime can run it. `load_onnx` reads a
# chain of the layers minizf has and names the first node it cannot read.
# One convention differs: ONNX (like Caffe and PyTorch) divides LRN's alpha
# by the window size; the paper does not. The conversion takes care of it.

# %%
net, mean, meta = default_model()
images = images_for(net)
x = normalize(images.images[:8], mean)
if onnx is not None:
    path = save_onnx(net, os.path.join(OUT, "14_zf64.onnx"), mean, meta)
    back, back_mean, back_meta = load_onnx(path)
    print("layers:", back.names[:6], "...", back.names[-3:])
    print("largest difference of the scores after the round trip:", np.abs(back.forward(x) - net.forward(x)).max())
    lrn = next(node for node in onnx.load(path).graph.node if node.op_type == "LRN")
    stored = next(a.f for a in lrn.attribute if a.name == "alpha")
    print(f"norm1 alpha: {net['norm1'].alpha} in minizf, {stored:.4g} (= alpha * {net['norm1'].size}) in the ONNX file")
else:
    print('onnx is not installed (pip install "minizf[onnx]"): skipping the ONNX cell')

# %% [markdown]
# ## 2. minizf -> PyTorch, and a PyTorch model -> minizf
# `to_torch(net)` gives an `nn.Sequential` with the same weights; the
# predictions agree to float32 rounding. `from_torch(module)` goes the other
# way for Conv2d, ReLU, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d,
# LocalResponseNorm, Dropout, Flatten and Linear, and refuses anything else
# by name (a BatchNorm2d, say).

# %%
if torch is not None:
    from minizf.interop.torch import from_torch, to_torch
    model = to_torch(net)
    with torch.no_grad():
        theirs = model(torch.from_numpy(x)).argmax(1).numpy()
    print("same predictions in PyTorch:", bool((theirs == net.forward(x).argmax(1)).all()))
    torch.manual_seed(0)
    nn = torch.nn
    theirs = nn.Sequential(nn.Conv2d(3, 16, 5, stride=2, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
                           nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d((4, 4)),
                           nn.Flatten(), nn.Linear(32 * 16, 10))
    mine = from_torch(theirs, input_shape=(3, 64, 64))
    print("a PyTorch model in minizf:", mine.names)
else:
    mine = None
    print("PyTorch is not installed (pip install torch==2.13.0): skipping the PyTorch cells")

# %% [markdown]
# ## 3. The deconvnet on a network from elsewhere
# The PyTorch model above has random weights, so its units respond to
# random patterns; the projection shows *where* in the image one unit of its
# second conv layer looked, which is all the deconvnet needs to know about a
# model: its layers, their weights and the pooling switches.

# %%
target = mine if mine is not None else net
layer = "3" if mine is not None else "conv2"
projection = Deconvnet(target).project(x[:4], layer, channel=5)
print("wrote", image_grid(list(images.images[:4] / 255.0) + list(projection),
                          os.path.join(OUT, "14_projections.png"), ncols=4,
                          signed=[False] * 4 + [True] * 4, suptitle=f"layer {layer}, unit 5: images and projections"))

# %% [markdown]
# ## 4. The unit explorer
# For every unit of a layer: its 9 strongest images, their projections cut
# to the unit's receptive field, their classes and the unit's histogram, as
# a static website (open `index.html`; arrow keys move between units and
# layers). `minizf explore` does the same from the command line, for any
# `--model`, `.npz` or `.onnx`.

# %%
images.images, images.labels = images.images[:N], images.labels[:N]
index = explore(net, mean, images, os.path.join(OUT, "14_explore"), layers=["conv5"])
print("wrote", index)

# %% [markdown]
# ## Exercises
# **Exercise 1.** ONNX's MatMul + Add keeps a fully connected layer's
# weights as (in, out), `y = x @ W + b`; minizf's Linear keeps them as
# (out, in), `y = x W^T + b`, as PyTorch does. Return minizf's `(W, b)`.

# %%
import minizf as mz  # noqa: E402
from minizf import functional as F  # noqa: E402
from minizf.lessons.exercises import attempt, check  # noqa: E402


def linear_from_matmul(W_onnx, b):
    raise NotImplementedError          # your code here


linear_from_matmul = attempt(linear_from_matmul, "14_bring_your_own_model")
with check("linear_from_matmul", "minizf's W is (out, in): the transpose of ONNX's (in, out) matrix, W_onnx.T "
                                 "(a reshape keeps the numbers in the wrong places)"):
    Wo, bo = np.random.default_rng(8).standard_normal((6, 4)), np.random.default_rng(9).standard_normal(4)
    xs = np.random.default_rng(10).standard_normal((3, 6))
    fc = mz.Linear(6, 4).astype("float64")
    fc.params["W"], fc.params["b"] = linear_from_matmul(Wo, bo)
    assert np.allclose(fc.forward(xs), xs @ Wo + bo)

# %% [markdown]
# **Exercise 2.** A PyTorch model trained on `(x - mean) / std` runs in
# minizf on `x - mean` when the first conv's weights are divided by std,
# one value per *input* channel (what `--std` does). Return those weights
# for `W` (F, C, kh, kw) and `std` (C,).

# %%
def fold_std(W, std):
    raise NotImplementedError          # your code here


fold_std = attempt(fold_std, "14_bring_your_own_model")
with check("fold_std", "divide W[:, c] by std[c]: the input channels are axis 1 (std.reshape(1, -1, 1, 1)), not "
                       "the output filters on axis 0"):
    Wc = np.random.default_rng(11).standard_normal((3, 3, 3, 3))                 # 3 filters of 3 channels
    sd = np.array([0.229, 0.224, 0.225])
    xc = np.random.default_rng(12).standard_normal((2, 3, 8, 8))                 # x - mean
    bc = np.zeros(3)
    theirs = F.conv2d(xc / sd.reshape(1, 3, 1, 1), Wc, bc, (1, 1), (1, 1))
    assert np.allclose(F.conv2d(xc, fold_std(Wc, sd), bc, (1, 1), (1, 1)), theirs)
print("exercises of lesson 14: done")
