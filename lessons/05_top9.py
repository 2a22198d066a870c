# %% [markdown]
# # Lesson 5 — what does a feature map respond to? (Fig. 2)
#
# *Run time: about 5 seconds on a 2-core CPU.*
#
# For one feature map, find the 9 images of a dataset where it fires most
# strongly, project each of those activations back to pixels with the
# deconvnet, and put the projection beside the image patch the unit sees
# (its receptive field). This is how the paper's Fig. 2 was made.

# %%
import os

import numpy as np

from minizf import analysis
from minizf.deconv import receptive_field
from minizf.plot import top9_figure
from minizf.figures import chance_purity, default_model, images_for

from minizf.lessons.exercises import out_folder  # noqa: E402

OUT = out_folder()          # $MINIZF_OUT, else out/ beside the script (a notebook: where it runs)
N = 120 if os.environ.get("MINIZF_QUICK") else 500

# %% [markdown]
# ## 1. The trained model and the images
# The bundled `zf64` was trained on Imagenette photos (10 ImageNet classes,
# 64 px) with `minizf train`; the bundled images are Imagenette *val*
# photos, never seen in training. (Without it: `zf_small` on CIFAR-10.)

# %%
net, mean, meta = default_model()
images = images_for(net)
images = images.subset(np.random.default_rng(0).permutation(len(images))[:N], images.name)
print(f"{meta['model']} after {meta['epoch']} epochs; scanning {len(images)} images of {images.name}")

# %% [markdown]
# ## 2. Scan for the strongest activations, one per image
# `top_activations` runs the images forward in batches and keeps, for each
# chosen map, a running list of the 9 best (value, image, position). Each
# image offers only its own maximum, so the 9 come from 9 different images.

# %%
layer, channels = "conv5", np.array([3, 17, 42, 99])
top = analysis.top_activations(net, images.images, mean, layer, channels)
for m, c in enumerate(channels):
    names = [images.classes[images.labels[i]] for i in top.images[m]]
    print(f"map {c:3d}: values {np.round(top.values[m, :3], 2)} ... images of {', '.join(names)}")

# %% [markdown]
# ## 3. Project them to pixels, all 36 in one batch
# `project_top` runs each needed image forward once, then sends one signal
# per selection down through the deconvnet (unpool with that image's
# switches, rectify, filter with the transposed filters). Both projections
# and patches are cut to the unit's receptive field.

# %%
field = receptive_field(net, layer)
side = net.input_shape[-1]
print(f"receptive field of a {layer} unit: {field.size} pixels (stride {field.jump}) on a {side}x{side} image")
projections, patches = analysis.project_top(net, images.images, mean, top)
print("projections:", projections.shape, "patches:", patches.shape)
print("wrote", top9_figure(projections, patches, channels, layer, os.path.join(OUT, "05_top9.png"), per_row=2))

# %% [markdown]
# Look for maps whose 9 patches share something (a colour, a texture, an
# object part: a dog's face, a church tower, the dimples of a golf ball):
# the projections show *which pixels* in each patch drove the unit, which is
# more than the patch alone tells.

# %% [markdown]
# ## 4. Does it get more class-specific with depth?
# The paper's claim: layer 1-2 maps answer to edges and colours, layer 5
# maps to whole objects. One number for it: the share of a map's top-9
# images that belong to its most common class, averaged over 24 maps per
# layer, against 9 random images.

# %%
purity = {}
for lay in ("conv1", "conv2", "conv3", "conv4", "conv5"):
    t = analysis.top_activations(net, images.images, mean, lay, np.arange(24))
    purity[lay] = float(analysis.class_purity(images.labels[t.images]).mean())
print(analysis.top9_verdict(purity, chance_purity(images.labels)))

# %% [markdown]
# ## Exercises
# Replace each `raise NotImplementedError`; `minizf lesson check` (or running
# this file) judges them. Until you write one, the solution in
# `solutions/05_top9.py` beside the lessons runs.
#
# **Exercise 1.** The running top-k of one map, as `top_activations` keeps
# it batch after batch: given the best `values` so far (best first) with
# their `images`, and a batch's per-image maxima `batch_values` with their
# image numbers `batch_images`, return the new best (at most k), best first.

# %%
from minizf.lessons.exercises import attempt, check  # noqa: E402


def merge_top(values, images, batch_values, batch_images, k):
    raise NotImplementedError          # your code here


merge_top = attempt(merge_top, "05_top9")
with check("merge_top", "the candidates are the old best and the whole batch: order them by value, largest "
                        "first (np.argsort(-v)), keep k, and carry each value's image along in the same order"):
    stream = np.random.default_rng(5).standard_normal(50)          # one maximum per image, 50 images
    best_v, best_i = np.zeros(0), np.zeros(0, int)
    for start in range(0, 50, 7):                                   # batches of 7, the last one short
        best_v, best_i = merge_top(best_v, best_i, stream[start:start + 7], np.arange(start, min(start + 7, 50)), 9)
    assert len(best_v) == 9 and (np.diff(best_v) <= 0).all()       # 9, best first
    assert np.array_equal(stream[best_i], best_v)                   # each value is its image's
    assert np.array_equal(np.sort(best_v), np.sort(stream)[-9:])    # the 9 largest of all, seen at once

# %% [markdown]
# **Exercise 2.** The box of input pixels a unit (i, j) sees: a layer whose
# units are `jump` pixels apart, each seeing `size` pixels, the first one
# starting `offset` pixels before the image (the padding). Return
# `(top, bottom, left, right)`, bottom and right exclusive, not clipped to
# the image. The check perturbs the image: nothing outside the box may move
# the unit, and the box is no larger than what does.

# %%
def receptive_box(i, j, size, jump, offset):
    raise NotImplementedError          # your code here


receptive_box = attempt(receptive_box, "05_top9")
with check("receptive_box", "unit i starts i x jump pixels after the first unit, which starts at -offset: "
                            "top = i * jump - offset, bottom = top + size (the same for columns with j)"):
    f2 = receptive_field(net, "conv2")
    size2, jump2, offset2 = f2.size[0], f2.jump[0], -int(f2.rows_full[0][0])
    seen = np.zeros(net.input_shape[1:], bool)
    for trial in range(6):                  # which pixels move unit (3, 4) of one conv2 map, for six images
        x6 = np.random.default_rng(trial).standard_normal((1,) + net.input_shape).astype(np.float32)
        out = net.forward(x6, upto="conv2")
        signal = np.zeros_like(out)
        signal[0, 5, 3, 4] = 1.0
        seen |= (np.abs(net.backward(signal)[0]).sum(axis=0) > 0)   # input gradient: who moves the unit
    net.forget()
    top_, bottom_, left_, right_ = receptive_box(3, 4, size2, jump2, offset2)
    rows, cols = np.flatnonzero(seen.any(axis=1)), np.flatnonzero(seen.any(axis=0))
    assert top_ <= rows.min() and rows.max() < bottom_ and left_ <= cols.min() and cols.max() < right_
    assert (bottom_ - top_, right_ - left_) == (size2, size2) and rows.min() - top_ < jump2
print("exercises of lesson 5: done")
