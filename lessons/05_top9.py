# %% [markdown]
# # Lesson 5 — what does a feature map respond to? (Fig. 2)
#
# *Run time: about 3 seconds on a 2-core CPU.*
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

OUT = os.environ.get("MINIZF_OUT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
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
