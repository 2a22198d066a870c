# %% [markdown]
# # Lesson 6 — how features evolve during training (Fig. 4)
#
# The trainer saved the weights at chosen epochs. For a few feature maps we
# take, at each of those epochs, the strongest activation over a set of
# images and project it to pixels. The paper saw the lower layers settle in a
# few epochs and the upper ones only after many.

# %%
import os

import numpy as np

from minizf import analysis
from minizf.data import bundled_images, bundled_model
from minizf.plot import evolution_figure
from minizf.tour import load_snapshots

OUT = os.environ.get("MINIZF_OUT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
N = 60 if os.environ.get("MINIZF_QUICK") else 200

# %% [markdown]
# ## 1. The snapshots
# `data/zf_small_snapshots.npz` holds the conv1-conv3 weights of the bundled
# run at its snapshot epochs (the later layers are left out to keep the
# repository small).

# %%
net, mean, meta = bundled_model("zf_small")
snapshots, layers = load_snapshots(meta, mean)
print("epochs:", [epoch for epoch, _, _ in snapshots], "| layers:", layers)
images = bundled_images().subset(np.arange(N))

# %% [markdown]
# ## 2. Project the strongest activation of each map at each epoch

# %%
choices = [("conv1", 5), ("conv2", 10), ("conv2", 40), ("conv3", 7), ("conv3", 100)]
epochs, rows = analysis.evolution(snapshots, images.images, choices)
for (layer, channel), row in zip(choices, rows):
    change = [float(np.abs(row[k + 1] - row[k]).mean() / (np.abs(row[k]).mean() + 1e-12))
              for k in range(len(row) - 1)]
    print(f"{layer} map {channel}: relative change between snapshots {np.round(change, 2)}")
print("wrote", evolution_figure(epochs, rows, [f"{l} #{c}" for l, c in choices],
                                os.path.join(OUT, "06_evolution.png")))
