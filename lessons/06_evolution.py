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
