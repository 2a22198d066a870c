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

# %% [markdown]
# ## Exercises
# **Exercise 1.** Every occluded copy of one uint8 image (3, H, W): a
# `size` x `size` square of colour `fill` (3,) at every position the
# square fits, moved by `stride` along rows and columns. Return
# `(batch (R*S, 3, H, W), rows (R,), cols (S,))`, copies in row-major order.

# %%
from minizf.lessons.exercises import attempt, check  # noqa: E402


def occluded_copies(image, size, stride, fill):
    raise NotImplementedError          # your code here


occluded_copies = attempt(occluded_copies, "09_occlusion")
with check("occluded_copies", "the square's top-left corners are np.arange(0, H - size + 1, stride) (it must fit: "
                              "+ 1, not past the edge); each copy changes exactly size x size pixels to fill"):
    plain = np.full((3, 10, 9), 200, np.uint8)          # 10 - 4 = 6: a square fits at row 6, exactly
    batch_, rows_, cols_ = occluded_copies(plain, 4, 3, np.array([1, 2, 3], np.uint8))
    assert list(rows_) == [0, 3, 6] and list(cols_) == [0, 3] and batch_.shape == (6, 3, 10, 9)
    for k, (r_, c_) in enumerate((r_, c_) for r_ in rows_ for c_ in cols_):
        changed = (batch_[k] != plain).any(axis=0)
        assert changed.sum() == 16 and changed[r_:r_ + 4, c_:c_ + 4].all()              # the square, only it
        assert (batch_[k][:, r_, c_] == [1, 2, 3]).all()
    assert (plain == 200).all()                                                         # the image untouched

# %% [markdown]
# **Exercise 2.** The effect size of Fig. 7's verdict: p(true class) where
# the strongest map is lowest, as a share of the clean image's p.
# `activation` and `prob` are (R, S) over the square's positions.

# %%
def fall_where_map_falls(activation, prob, prob_clean):
    raise NotImplementedError          # your code here


fall_where_map_falls = attempt(fall_where_map_falls, "09_occlusion")
with check("fall_where_map_falls", "find the position of the map's minimum (np.argmin over the flattened "
                                   "activation) and read prob there, divided by prob_clean (not prob's own minimum)"):
    act_, prob_ = np.full((3, 3), 5.0), np.full((3, 3), 0.9)
    act_[2, 0], prob_[2, 0], prob_[0, 2] = 1.0, 0.3, 0.1           # p is lowest elsewhere than the map
    assert np.isclose(fall_where_map_falls(act_, prob_, 0.9), 0.3 / 0.9)
    assert np.isclose(fall_where_map_falls(act_, prob_ * 2, 1.8), 0.3 / 0.9)                # a share: scale-free
    shown = fall_where_map_falls(result.activation, result.prob_true, result.prob_true_clean)
    print(f"where the relu5 map is lowest, p({images.classes[label]}) keeps {shown:.2f} of its value")
print("exercises of lesson 9: done")
