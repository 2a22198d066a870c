# %% [markdown]
# # Lesson 7 — invariance to translation, scale and rotation (Fig. 5)
#
# *Run time: about 2 seconds on a 2-core CPU.*
#
# Move, scale or rotate an image and ask how much the features change. The
# paper found small changes matter a lot in layer 1 and much less in layer 7,
# and that the network is not rotation-invariant (except for symmetric
# objects). We measure the distance between the feature vectors of the
# original and the transformed image, divided by the original's norm so that
# layers of different magnitudes share one axis.

# %%
import os

import numpy as np

from minizf import analysis
from minizf.plot import image_grid, invariance_figure
from minizf.figures import default_model, images_for, invariance_settings

from minizf.lessons.exercises import out_folder  # noqa: E402

OUT = out_folder()          # $MINIZF_OUT, else out/ beside the script (a notebook: where it runs)

# %%
net, mean, meta = default_model()
images = images_for(net)
picks = [int(np.flatnonzero(images.labels == c)[0]) for c in (0, 1, 3, 7, 8)]
imgs, labels = images.images[picks], images.labels[picks]
print("images:", [images.classes[c] for c in labels])

# %% [markdown]
# ## 1. The transformations
# Vertical shifts in pixels, scale factors about the centre, rotations in
# degrees. Uncovered pixels get the dataset's mean colour.

# %%
fill = np.round(mean.mean(axis=(1, 2)) * 255).astype(np.uint8)
examples = [analysis.transform(imgs[3], kind, a, fill) for kind, a in
            [("translate", -6), ("translate", 6), ("scale", 0.7), ("scale", 1.3), ("rotate", 45), ("rotate", 90)]]
print("wrote", image_grid([imgs[3]] + examples, os.path.join(OUT, "07_transforms.png"), ncols=7,
                          titles=["original", "up 6", "down 6", "x0.7", "x1.3", "45 deg", "90 deg"]))

# %% [markdown]
# ## 2. Feature distances and class probability

# %%
settings = invariance_settings(imgs.shape[-1])     # shifts up to a quarter of the image, scales 0.6-1.4, +-90 deg
results = [analysis.invariance(net, imgs, labels, mean, kind, amounts) for kind, amounts in settings.items()]
for res in results:
    for layer, d in res.distances.items():
        print(f"{res.kind:>9} {layer}: mean normalised distance at the extremes {d[:, [0, -1]].mean():.2f}")
print("wrote", invariance_figure(results, os.path.join(OUT, "07_invariance.png"),
                                 names=[images.classes[c] for c in labels]))

# %% [markdown]
# ## 3. The verdict
# The paper: small transformations change layer 1 a lot and layer 7 much
# less; the output is steady under shifts and scaling, not under rotation.

# %%
print(analysis.invariance_verdict(results))

# %% [markdown]
# ## Exercises
# **Exercise 1.** The distance the figure plots: how far the features `f`
# of a transformed image are from the features `f0` of the original,
# relative to the size of `f0` (so layers of different scales compare).

# %%
from minizf.lessons.exercises import attempt, check  # noqa: E402


def relative_distance(f0, f):
    raise NotImplementedError          # your code here


relative_distance = attempt(relative_distance, "07_invariance")
with check("relative_distance", "the Euclidean norm of the difference, divided by the norm of the original's "
                                "features f0 (not of f, and not squared)"):
    f0 = np.random.default_rng(2).standard_normal(50)
    assert relative_distance(f0, f0) == 0
    assert np.isclose(relative_distance(f0, 2 * f0), 1.0) and np.isclose(relative_distance(f0, -f0), 2.0)
    q, _ = np.linalg.qr(np.random.default_rng(3).standard_normal((50, 50)))      # a rotation of feature space
    f1 = f0 + np.random.default_rng(4).standard_normal(50)
    assert np.isclose(relative_distance(q @ f0, q @ f1), relative_distance(f0, f1))
    assert np.isclose(relative_distance(7 * f0, 7 * f1), relative_distance(f0, f1))   # scale-free

# %% [markdown]
# **Exercise 2.** A vertical shift by `dy` pixels (positive: down) of a
# uint8 image (3, H, W); the rows it uncovers get the colour `fill` (3,).

# %%
def shift_down(image, dy, fill):
    raise NotImplementedError          # your code here


shift_down = attempt(shift_down, "07_invariance")
with check("shift_down", "row r of the result is row r - dy of the image; the |dy| rows at the top (dy > 0) "
                         "or at the bottom (dy < 0) take fill, broadcast as fill[:, None, None]"):
    dot = np.zeros((3, 10, 8), np.uint8)
    dot[:, 4, 5] = 255
    for d in (3, -2, 0):
        moved = shift_down(dot, d, np.array([1, 2, 3], np.uint8))
        assert moved.shape == dot.shape and (moved[:, 4 + d, 5] == 255).all()              # the dot moved by d
        bare = slice(0, d) if d > 0 else slice(10 + d, 10)
        assert (moved[:, bare] == np.array([1, 2, 3])[:, None, None]).all()              # uncovered rows: fill
        back = shift_down(moved, -d, np.zeros(3, np.uint8))
        kept = slice(0, 10 - d) if d >= 0 else slice(-d, 10)         # the rows that went out and came back
        assert np.array_equal(back[:, kept], dot[:, kept])
    print("shifted like analysis.transform:",
          np.array_equal(shift_down(imgs[3], 6, fill), analysis.transform(imgs[3], "translate", 6, fill)))
print("exercises of lesson 7: done")
