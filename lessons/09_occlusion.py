# %% [markdown]
# # Lesson 9 — occlusion: is the classifier looking at the object? (Fig. 7)
#
# *Run time: about 6 seconds on a 2-core CPU.*
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
from minizf.plot import occlusion_figure
from minizf.figures import default_model, images_for, occlusion_picks, occlusion_setting

from minizf.lessons.exercises import out_folder  # noqa: E402

OUT = out_folder()          # $MINIZF_OUT, else out/ beside the script (a notebook: where it runs)

# %%
net, mean, meta = default_model()
images = images_for(net)
n = occlusion_picks(images)[0]          # a springer's face (64 px photos) or a cat's (CIFAR-10)
image, label = images.images[n], int(images.labels[n])
size, stride = occlusion_setting(image.shape[-1])

# %% [markdown]
# ## 1. All occluded copies in one batch
# On 64 px photos a 13x13 square (a fifth of the side) in steps of 4 pixels
# gives 13 x 13 = 169 occluded images; they go through the network in
# batches, keeping every layer's output.

# %%
result = analysis.occlusion(net, image, label, mean, layer="relu5", size=size, stride=stride)
print(f"true class {images.classes[label]}: p = {result.prob_true_clean:.3f} without occlusion")
r, c = np.unravel_index(result.prob_true.argmin(), result.prob_true.shape)
print(f"lowest p({images.classes[label]}) = {result.prob_true.min():.3f} with the square at "
      f"row {result.rows[r]}, column {result.cols[c]}")
print(f"strongest relu5 map: {result.channel}; its total activation ranges "
      f"{result.activation.min():.2f} .. {result.activation.max():.2f} over the positions")
print("most probable classes seen:", sorted({images.classes[k] for k in np.unique(result.top_class)}))
print("wrote", occlusion_figure(image.astype(np.float32) / 255, result, images.classes, label,
                                os.path.join(OUT, "09_occlusion.png")))

# %% [markdown]
# ## 2. All four examples, three square sizes, and the verdict
# The paper: p(correct class) drops sharply when the object is covered, and
# the strongest layer-5 map falls at the same places. Whether one square
# hides enough of the object depends on its size, so the verdict sweeps
# squares of 1/8, 1/5 and 1/3 of the side and names the smallest that shows
# the effect (or says that none does). Look for a dark spot in (d) over the
# object, not over the background.

# %%
picks = occlusion_picks(images)
sweep = {side: [analysis.occlusion(net, images.images[k], int(images.labels[k]), mean, size=side, stride=step)
                for k in picks]
         for side, step in analysis.occluder_sizes(image.shape[-1])}
print(analysis.occlusion_verdict(sweep, [images.classes[images.labels[k]] for k in picks], image.shape[-1]))
