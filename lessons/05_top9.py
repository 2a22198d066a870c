# %% [markdown]
# # Lesson 5 — what does a feature map respond to? (Fig. 2)
#
# For one feature map, find the 9 images of a dataset where it fires most
# strongly, project each of those activations back to pixels with the
# deconvnet, and put the projection beside the image patch the unit sees
# (its receptive field). This is how the paper's Fig. 2 was made.

# %%
import os

import numpy as np

from minizf import analysis
from minizf.data import bundled_images, bundled_model
from minizf.deconv import receptive_field
from minizf.plot import top9_figure

OUT = os.environ.get("MINIZF_OUT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
N = 120 if os.environ.get("MINIZF_QUICK") else 500

# %% [markdown]
# ## 1. The trained model and the images
# The bundled `zf_small` was trained on CIFAR-10 with `minizf train`; the
# bundled images are CIFAR-10 *test* images, never seen in training.

# %%
net, mean, meta = bundled_model("zf_small")
images = bundled_images().subset(np.arange(N))
print(f"{meta['model']} after {meta['epoch']} epochs; scanning {len(images)} test images")

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
print(f"receptive field of a {layer} unit: {field.size} pixels (stride {field.jump}) on a 32x32 image")
projections, patches = analysis.project_top(net, images.images, mean, top)
print("projections:", projections.shape, "patches:", patches.shape)
print("wrote", top9_figure(projections, patches, channels, layer, os.path.join(OUT, "05_top9.png"), per_row=2))

# %% [markdown]
# Look for maps whose 9 patches share something (a colour, a texture, an
# object part): the projections show *which pixels* in each patch drove
# the unit, which is more than the patch alone tells.
