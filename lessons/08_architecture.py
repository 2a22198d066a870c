# %% [markdown]
# # Lesson 8 — choosing the architecture by looking at it (Fig. 6, Sec. 4.1)
#
# *Run time: about 2 seconds on a 2-core CPU.*
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
from minizf.plot import filters_figure
from minizf.train import initial_weights
from minizf.figures import conv_layers, default_model, images_for, val_accuracy, with_twin

from minizf.lessons.exercises import out_folder  # noqa: E402

OUT = out_folder()          # $MINIZF_OUT, else out/ beside the script (a notebook: where it runs)

# %% [markdown]
# The default bundled model is `zf64` (conv1 7x7/2 on 64 px Imagenette
# photos) with its twin `krizhevsky64` (conv1 11x11/4): the paper's pair,
# scaled down. (Without them, the 32 px CIFAR-10 pair: 3x3/1 vs 5x5/2.)

# %%
zf, zf_mean, zf_meta = default_model()
models = with_twin(zf, zf_mean, meta=zf_meta)   # [(name, net, mean, meta)]: the model and its bundled twin
if len(models) == 1:
    print("the Krizhevsky-style twin is not bundled: showing the ZF model alone")

# %% [markdown]
# ## 1. Dead filters and frequency coverage
# *Dead*: RMS below a tenth of the layer's median RMS. *Coverage*: the share
# of each filter's spectral energy in low, mid and high spatial frequencies
# (split at 1/6 and 1/3 cycles per pixel), averaged over live filters.
# Look for: dead filters (near-blank tiles) and a low "mid" share in the
# model with the larger, more strided first layer.

# %%
stats = []
for name, net, _, _ in models:
    W = net[conv_layers(net)[0]].params["W"]
    st = analysis.filter_stats(W)
    stats.append(st)
    rms = np.sqrt((W.reshape(len(W), -1) ** 2).mean(axis=1))
    print(f"{name}: {st['dead']}/{st['filters']} dead; energy shares {st['band_share']}; "
          f"filter RMS from {rms.min():.3f} to {rms.max():.3f}")

# %% [markdown]
# ## 2. Layer-2 projections
# For 16 conv2 maps of each model, the strongest activation over the bundled
# images, projected to pixels: aliasing from a large first stride shows up
# as grid-like artefacts here.

# %%
images = images_for(zf)
projections = []
for name, net, mean, _ in models:
    top = analysis.top_activations(net, images.images, mean, "conv2", np.arange(16), k=1)
    projections.append(analysis.project_top(net, images.images, mean, top)[0][:, 0])
print("wrote", filters_figure([net["conv1"].params["W"] for _, net, _, _ in models], [m[0] for m in models],
                              stats, os.path.join(OUT, "08_filters.png"), projections))

# %% [markdown]
# ## 3. Are the filters trained at all?
# Filter statistics only say something about the architecture if the
# filters have learned: white noise puts 40 of its 48 non-mean frequency
# bins (7x7) above a quarter cycle per pixel, a smooth edge or colour blob
# very little. A first layer whose high-frequency energy is within 0.8 of
# noise's is still mostly its initialisation; its correlation with the
# initial weights (the run's seed is in the model file) says the same.

# %%
quality = [analysis.filter_quality(net[conv_layers(net)[0]].params["W"],
                                   initial_weights(meta, conv_layers(net)[0])) for _, net, _, meta in models]
for (name, *_), q in zip(models, quality):
    print(f"{name}: high-frequency energy {q['high_share']:.2f} (white noise {q['noise_share']:.2f}); "
          f"correlation with its initial weights {q['init_correlation']}; trained: {q['trained']}")

# %% [markdown]
# ## 4. The verdict
# The paper's claim: fewer dead filters and more mid frequencies; each is
# computed from the numbers above, and the verdict is "cannot tell" when a
# first layer is not measurably trained. The accuracies are reported on
# their own: a better model does not make its filters look better.

# %%
for name, _, _, meta in models:
    print(f"{name}: validation accuracy {val_accuracy(meta):.3f} after {len(meta['history'])} epochs")
if len(models) == 2:
    print(analysis.filters_verdict(stats, [val_accuracy(m) for *_, m in models], [m[0] for m in models], quality))

# %% [markdown]
# ## Exercises
# **Exercise 1.** Receptive-field arithmetic of a stack of layers, each
# `(kernel, stride, pad)`: return `(size, jump, offset)`, the pixels a unit
# of the last layer sees along one axis, the pixels between neighbouring
# units, and how far before the image the first unit's field starts. The
# check builds the stack as convolutions and asks the gradient which input
# pixels a unit depends on.

# %%
import minizf as mz  # noqa: E402
from minizf.lessons.exercises import attempt, check  # noqa: E402


def stack_field(layers):
    raise NotImplementedError          # your code here


stack_field = attempt(stack_field, "08_architecture")
with check("stack_field", "walk the layers bottom up keeping the jump so far (the product of the strides "
                          "below): size grows by (kernel - 1) x jump, offset by pad x jump, then jump *= stride"):
    for stack in ([(7, 2, 1), (3, 2, 0), (5, 2, 2)], [(11, 4, 2), (3, 2, 0)], [(3, 1, 1)] * 3):
        side = 96
        convs = mz.Sequential([(f"c{n}", mz.Conv2D(1, 1, k, s, p, rng=np.random.default_rng(n)))
                               for n, (k, s, p) in enumerate(stack)]).astype("float64")
        out = convs.forward(np.random.default_rng(9).standard_normal((1, 1, side, side)))
        signal = np.zeros_like(out)
        signal[0, 0, 2, 2] = 1.0                                     # unit (2, 2): away from the top edge
        rows = np.flatnonzero(np.abs(convs.backward(signal)[0, 0]).sum(axis=1) > 0)
        size, jump, offset = stack_field(stack)
        first = 2 * jump - offset                                    # where unit 2's field starts
        assert (rows.min(), rows.max() + 1) == (max(first, 0), first + size), (stack, rows.min(), rows.max())

# %% [markdown]
# **Exercise 2.** Why a stride of 4 aliases: a layer that keeps every s-th
# output cannot represent frequencies above 1/(2s) cycles per pixel; what a
# filter passes above that folds onto lower ones. Return the share of the
# filters' spectral energy (`W` of shape (F, C, kh, kw), each channel's mean
# removed, a 32x32 FFT, energy summed over channels and filters) whose
# frequency along either axis is above 1/(2 stride).

# %%
def folded_share(W, stride):
    raise NotImplementedError          # your code here


folded_share = attempt(folded_share, "08_architecture")
with check("folded_share", "use np.fft.fftfreq(32) for the frequencies, compare |f| with 1 / (2 stride) along "
                           "each axis (rows or columns), and take energy = |FFT|^2 after removing each channel's mean"):
    yy, xx = np.mgrid[0:11, 0:11]
    wave = lambda f: np.cos(2 * np.pi * f * xx)[None, None] * np.ones((1, 3, 1, 1))   # noqa: E731
    assert folded_share(wave(0.2), 4) > 0.9 and folded_share(wave(0.2), 2) < 0.1    # 0.2: above 1/8, below 1/4
    assert folded_share(wave(0.05), 4) < 0.25              # slow: little folds (an 11 px window leaks some)
    W8 = np.random.default_rng(3).standard_normal((8, 3, 11, 11))
    assert abs(folded_share(W8, 4) - folded_share(5 * W8, 4)) < 1e-12              # a share: scale-free
    assert folded_share(W8, 1) < 1e-12 < folded_share(W8, 2) < folded_share(W8, 4)   # more stride, more folded
    for name, net, _, _ in models:
        first = net[conv_layers(net)[0]]
        print(f"{name}: {folded_share(first.params['W'], first.stride[0]):.2f} of conv1's energy folds at "
              f"its stride {first.stride[0]}")
print("exercises of lesson 8: done")
