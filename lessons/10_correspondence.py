# %% [markdown]
# # Lesson 10 — correspondence between object parts (Table 1, Sec. 4.3)
#
# *Run time: about a second on a 2-core CPU.*
#
# Does the network tie "the left eye" of one dog to the left eye of another?
# Cover the same part in 5 images and look at how each image's feature
# vector at layer l changes: eps_i = x_i - x~_i. If the part is encoded
# consistently, the changes agree in sign across images. Delta_l is the
# fraction of positions where two images' changes disagree in sign, averaged
# over all pairs: lower means more consistent. Random boxes give a baseline.

# %%
import os

import numpy as np

from minizf import analysis
from minizf.plot import boxes_figure
from minizf.figures import correspondence_spec, default_model, images_for

from minizf.lessons.exercises import out_folder  # noqa: E402

OUT = out_folder()          # $MINIZF_OUT, else out/ beside the script (a notebook: where it runs)

# %%
net, mean, meta = default_model()
images = images_for(net)
spec, picks = correspondence_spec(images)      # 5 springer faces (64 px photos) or 5 cats (CIFAR-10)
faces = images.images[picks]
boxes = {part: np.asarray(b) for part, b in spec["parts"].items()}
print(spec["description"])
print("wrote", boxes_figure(faces.astype(np.float32) / 255, boxes, os.path.join(OUT, "10_boxes.png")))

# %% [markdown]
# ## 1. Delta for each part at layers 5 and 7

# %%
result = analysis.correspondence(net, faces, boxes, mean, layers=("relu5", "relu7"), random_trials=10)
print(f"{'occluded part':<14}{'Delta relu5':>12}{'Delta relu7':>12}")
for part, d in result.parts.items():
    print(f"{part:<14}{d['relu5']:>12.3f}{d['relu7']:>12.3f}")
(m5, s5), (m7, s7) = result.random["relu5"], result.random["relu7"]
print(f"{'random':<14}{m5:>6.3f}±{s5:.3f}{m7:>6.3f}±{s7:.3f}")
print("The paper (ImageNet, 224 px): layer 5 eyes 0.067-0.069, nose 0.079, random 0.107; "
      "layer 7 about 0.07 for all.\nAt 64 px an eye is a few pixels, so expect a coarser picture.")
print(analysis.correspondence_verdict(result))

# %% [markdown]
# ## Exercises
# **Exercise 1.** Delta itself: `eps` holds, for each of N images, the
# change of its features (N, D) when the part is occluded. Delta is the
# mean, over ordered pairs of different images, of the share of features
# whose change has a different sign in the two images.

# %%
from minizf.lessons.exercises import attempt, check  # noqa: E402


def delta(eps):
    raise NotImplementedError          # your code here


delta = attempt(delta, "10_correspondence")
with check("delta", "compare np.sign of the changes feature by feature, for every pair i != j (not i == j, "
                    "which always agrees), and average the share that differs over the N (N - 1) pairs"):
    same = np.tile(np.random.default_rng(1).standard_normal(30), (4, 1))
    assert delta(same) == 0                                                  # all change alike
    assert np.isclose(delta(np.stack([same[0], -same[0]])), 1.0)             # opposite in every feature
    signs = np.random.default_rng(2).choice([-1.0, 1.0], (6, 4000))
    assert abs(delta(signs) - 0.5) < 0.02                                    # unrelated: half differ
    assert np.isclose(delta(3 * signs[:4] + 0.0), delta(signs[:4]))          # signs only: scale-free
    order = [3, 0, 2, 1]
    assert np.isclose(delta(signs[:4][order]), delta(signs[:4]))             # the images' order does not matter

# %% [markdown]
# **Exercise 2.** The baseline: a random box of the part's size placed
# anywhere it fits in a `side` x `side` image. Return `(top, left)`, drawn
# with `rng` uniformly over every position where a `size` box fits.

# %%
def random_box(rng, side, size):
    raise NotImplementedError          # your code here


random_box = attempt(random_box, "10_correspondence")
with check("random_box", "the box fits when top + size <= side: draw rng.integers(0, side - size + 1) (the upper "
                         "bound is exclusive), for the top and for the left"):
    draws = np.array([random_box(np.random.default_rng(s), 10, 4) for s in range(600)])
    assert draws.min() == 0 and draws.max() == 6                             # every position, none past the edge
    counts = np.bincount(draws[:, 0], minlength=7)
    assert counts.min() > 50                                                 # each of the 7 tops drawn
print("exercises of lesson 10: done")
