# %% [markdown]
# # Lesson 6 — how features evolve during training (Fig. 4)
#
# *Run time: about 20 seconds on a 2-core CPU.*
#
# The trainer saved the weights at chosen epochs. For a few feature maps we
# take, at each of those epochs, the strongest activation over a set of
# images and project it to pixels. The paper saw the lower layers settle in a
# few epochs and the upper ones only after many.

# %%
import os

import numpy as np

from minizf import analysis
from minizf.plot import evolution_figure
from minizf.figures import default_model, images_for, load_snapshots, with_final

from minizf.lessons.exercises import out_folder  # noqa: E402

OUT = out_folder()          # $MINIZF_OUT, else out/ beside the script (a notebook: where it runs)
N = 60 if os.environ.get("MINIZF_QUICK") else 200

# %% [markdown]
# ## 1. The snapshots
# `data/zf64_snapshots.npz` holds the conv1-conv5 weights of the bundled
# 70-epoch run at the paper's Fig. 4 epochs, 1, 2, 5, 10, 20, 30, 40 and 64
# (the fully connected layers are left out to keep the repository small);
# the final model is the last column.

# %%
net, mean, meta = default_model()
snapshots, layers = load_snapshots(meta, mean)
snapshots = with_final(snapshots, net, mean, meta)
print("epochs:", [epoch for epoch, _, _ in snapshots], "| layers:", layers)
images = images_for(net)
images = images.subset(np.random.default_rng(0).permutation(len(images))[:N], images.name)

# %% [markdown]
# ## 2. Project the strongest activation of each map at each epoch

# %%
choices = [(layer, c) for layer in layers for c in (5, 40)]
epochs, rows = analysis.evolution(snapshots, images.images, choices)
for (layer, channel), row in zip(choices, rows):
    change = [float(np.abs(row[k + 1] - row[k]).mean() / (np.abs(row[k]).mean() + 1e-12))
              for k in range(len(row) - 1)]
    print(f"{layer} map {channel}: relative change between snapshots {np.round(change, 2)}")
print("wrote", evolution_figure(epochs, rows, [f"{l} #{c}" for l, c in choices],
                                os.path.join(OUT, "06_evolution.png")))

# %% [markdown]
# ## 3. When does each layer settle?
# Pictures can fool the eye, so a number: for 16 maps per layer, how well
# each map's strongest response per image at one snapshot correlates with
# the next snapshot's. A layer has settled at the first snapshot from which
# every later step keeps that above 0.9 (against the final model instead,
# the last snapshot would always look settled). The paper: lower layers
# within a few epochs, upper layers only after 40-50 of 70.

# %%
similarity = analysis.response_similarity(snapshots, images.images, {layer: np.arange(16) for layer in layers})
for layer, sim in similarity.items():
    print(f"{layer}: correlation with the next snapshot, from epochs {list(epochs[:-1])}: {np.round(sim, 2)}")
print(analysis.evolution_verdict(similarity, [int(e) for e in epochs]))

# %% [markdown]
# ## Exercises
# **Exercise 1.** The number behind the verdict: the correlation, map by
# map, between each map's strongest response per image at one snapshot
# (`a`, images x maps) and at the next (`b`), averaged over the maps; a map
# whose responses are all equal at either snapshot counts 0.

# %%
from minizf.lessons.exercises import attempt, check  # noqa: E402


def snapshot_similarity(a, b):
    raise NotImplementedError          # your code here


snapshot_similarity = attempt(snapshot_similarity, "06_evolution")
with check("snapshot_similarity", "correlate column m of a with column m of b (np.corrcoef(a[:, m], b[:, m])[0, 1]),"
                                  " not the whole arrays; a constant column counts 0; then the mean over m"):
    ra = np.random.default_rng(7).standard_normal((40, 5))
    assert np.isclose(snapshot_similarity(ra, ra), 1.0)
    assert np.isclose(snapshot_similarity(ra, 3 * ra + 2), 1.0)                 # a map that only grew
    assert np.isclose(snapshot_similarity(ra, -ra), -1.0)
    mixed = ra.copy()
    mixed[:, 0] = ra[::-1, 0]                                                    # one map now ranks otherwise
    one = np.corrcoef(ra[:, 0], ra[::-1, 0])[0, 1]
    assert np.isclose(snapshot_similarity(ra, mixed), (4 + one) / 5)
    flat = ra.copy()
    flat[:, 1] = 0.0
    assert np.isclose(snapshot_similarity(ra, flat), 4 / 5) and np.isfinite(snapshot_similarity(flat, flat))

# %% [markdown]
# **Exercise 2.** The settle epoch: `similarity[i]` compares the snapshots
# at `epochs[i]` and `epochs[i + 1]`. A layer has settled at `epochs[i]`
# when it and every later step keep at least `threshold`; return that
# epoch, or None when the last step still moves.

# %%
def settled_at(similarity, epochs, threshold):
    raise NotImplementedError          # your code here


settled_at = attempt(settled_at, "06_evolution")
with check("settled_at", "look for the first i from which all of similarity[i:] is >= threshold (every later "
                         "step, not only the next one), and answer epochs[i]; the last epoch has no step after it"):
    ep = [1, 2, 5, 10, 20]
    assert settled_at([0.5, 0.95, 0.8, 0.95], ep, 0.9) == 10        # moved again after epoch 5
    assert settled_at([0.95, 0.95, 0.95, 0.95], ep, 0.9) == 1
    assert settled_at([0.95, 0.95, 0.95, 0.5], ep, 0.9) is None     # the last step still moved
    assert settled_at([0.5, 0.9, 0.9, 0.9], ep, 0.9) == 2            # exactly the threshold is kept
    for layer, sim in similarity.items():
        assert settled_at(sim, [int(e) for e in epochs], 0.9) == analysis.settle_epoch(sim, [int(e) for e in epochs])
print("exercises of lesson 6: done")
