# %% [markdown]
# # Lesson 9 — occlusion: is the classifier looking at the object? (Fig. 7)
#
# Slide a grey square over the image and watch three things as a function of
# where the square is: the total activation of the strongest layer-5 feature
# map, the probability of the correct class, and the most probable class.
# If the probability drops when the object is covered, the network uses the
# object and not only its surroundings.

# %%
import os

import numpy as np

from minizf import analysis
from minizf.data import bundled_images, bundled_model
from minizf.plot import occlusion_figure

OUT = os.environ.get("MINIZF_OUT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))

# %%
net, mean, meta = bundled_model("zf_small")
images = bundled_images()
n = int(np.flatnonzero(images.indices == 302)[0])        # a cat, face on
image, label = images.images[n], int(images.labels[n])

# %% [markdown]
# ## 1. All occluded copies in one batch
# A 8x8 square in steps of 2 pixels gives 13 x 13 = 169 occluded images; they
# go through the network in batches, keeping every layer's output.

# %%
result = analysis.occlusion(net, image, label, mean, layer="relu5", size=8, stride=2)
print(f"true class {images.classes[label]}: p = {result.prob_true_clean:.3f} without occlusion")
r, c = np.unravel_index(result.prob_true.argmin(), result.prob_true.shape)
print(f"lowest p({images.classes[label]}) = {result.prob_true.min():.3f} with the square at "
      f"row {result.rows[r]}, column {result.cols[c]}")
print(f"strongest relu5 map: {result.channel}; its total activation ranges "
      f"{result.activation.min():.2f} .. {result.activation.max():.2f} over the positions")
print("most probable classes seen:", sorted({images.classes[k] for k in np.unique(result.top_class)}))
print("wrote", occlusion_figure(image.astype(np.float32) / 255, result, images.classes, label,
                                os.path.join(OUT, "09_occlusion.png")))
