# %% [markdown]
# # Lesson 8 — choosing the architecture by looking at it (Fig. 6, Sec. 4.1)
#
# Zeiler & Fergus looked at the first-layer filters of Krizhevsky's network
# (11x11, stride 4) and saw a mix of very high and very low frequencies with
# little in between, and some dead filters; layer-2 projections showed
# aliasing from the large stride. Smaller filters with a smaller stride
# (7x7/2) fixed both and improved accuracy. We compare our two small twins,
# with numbers instead of only pictures.

# %%
import os

import numpy as np

from minizf import analysis
from minizf.data import bundled_images, bundled_model
from minizf.plot import filters_figure
from minizf.tour import with_twin

OUT = os.environ.get("MINIZF_OUT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))

# %%
zf, zf_mean, zf_meta = bundled_model("zf_small")
models = with_twin(zf, zf_mean)               # [(name, net, mean)]: ZF-small and, if bundled, its twin
if len(models) == 1:
    print("the Krizhevsky-style twin is not bundled yet: showing the ZF model alone")

# %% [markdown]
# ## 1. Dead filters and frequency coverage
# *Dead*: RMS below a tenth of the layer's median RMS. *Coverage*: the share
# of each filter's spectral energy in low, mid and high spatial frequencies
# (split at 1/6 and 1/3 cycles per pixel), averaged over live filters.

# %%
stats = []
for name, net, _ in models:
    W = net["conv1"].params["W"]
    st = analysis.filter_stats(W)
    stats.append(st)
    rms = np.sqrt((W.reshape(len(W), -1) ** 2).mean(axis=1))
    print(f"{name}: {st['dead']}/{st['filters']} dead; energy shares {st['band_share']}; "
          f"filter RMS from {rms.min():.3f} to {rms.max():.3f}")

# %% [markdown]
# ## 2. Layer-2 projections
# For 16 conv2 maps of each model, the strongest activation over the bundled
# test images, projected to pixels: aliasing from a large first stride shows
# up as grid-like artefacts here.

# %%
images = bundled_images()
projections = []
for name, net, mean in models:
    top = analysis.top_activations(net, images.images, mean, "conv2", np.arange(16), k=1)
    projections.append(analysis.project_top(net, images.images, mean, top)[0][:, 0])
print("wrote", filters_figure([net["conv1"].params["W"] for _, net, _ in models], [n for n, _, _ in models],
                              stats, os.path.join(OUT, "08_filters.png"), projections))
for name, net, _ in models:
    history = (zf_meta if net is zf else bundled_model("krizhevsky_small")[2])["history"]
    print(f"{name}: validation accuracy {history[-1].get('val_acc', float('nan')):.3f} after {len(history)} epochs")
