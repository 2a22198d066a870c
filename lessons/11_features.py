# %% [markdown]
# # Lesson 11 — what each layer knows: linear probes (Table 7, Sec. 5)
#
# *Run time: about 20 seconds (`MINIZF_QUICK=1`: 8 seconds) on a 2-core CPU.*
#
# Sec. 5 asks how *discriminative* the features of each layer are. Freeze the
# trained network, cut it after layer l, and train only a softmax classifier
# on what comes out. If a straight line (a hyperplane) through layer l's
# features already separates the classes, layer l has done most of the work.
# The paper finds accuracy rising steadily with depth (Table 7, and Tables
# 4-5 on Caltech): higher layers hold more class-specific features.

# %%
import os

import numpy as np

from minizf import analysis, data
from minizf.plot import curve

from minizf.lessons.exercises import out_folder  # noqa: E402

OUT = out_folder()          # $MINIZF_OUT, else out/ beside the script (a notebook: where it runs)
QUICK = bool(os.environ.get("MINIZF_QUICK"))         # the test suite runs a shorter version
N_TRAIN, N_TEST = (1500, 500) if QUICK else (5000, 2000)

# %% [markdown]
# ## 1. Features of one layer
# The bundled model, and CIFAR-10 images it was *not* trained on for the
# test side. A conv layer's maps are large (relu1: 64 x 32 x 32 = 65,536
# numbers per image), so each map is averaged over a 4x4 grid of blocks
# first: 64 x 4 x 4 = 1,024 numbers. The fully connected layers give 512.

# %%
net, mean, meta = data.bundled_model("zf_small")
train = data.load_cifar10(split="train")
test = data.load_cifar10(split="test")
layers = ["relu1", "relu2", "relu3", "relu4", "relu5", "relu7"]
train_f = analysis.layer_features(net, train.images[:N_TRAIN], mean, layers)
test_f = analysis.layer_features(net, test.images[:N_TEST], mean, layers)
for layer in layers:
    print(f"{layer}: features {train_f[layer].shape}")

# %% [markdown]
# ## 2. A softmax classifier per layer
# Each probe is one `Linear` layer trained by minizf's own forward, backward
# and SGD, on standardised features (so one learning rate suits them all).
# Nothing below the probe changes.

# %%
results = {}
for layer in layers:
    results[layer] = analysis.linear_probe(train_f[layer], train.labels[:N_TRAIN], test_f[layer],
                                           test.labels[:N_TEST], num_classes=10, epochs=20)
print(f"{'layer':<8}{'train acc':>10}{'test acc':>10}")
for layer, r in results.items():
    print(f"{layer:<8}{r.train_accuracy:>10.3f}{r.test_accuracy:>10.3f}")
print(f"(chance: 0.100; the whole network, fc8 included: "
      f"{meta['history'][-1]['val_acc']:.3f} on its validation images)")

# %% [markdown]
# ## 3. Accuracy against depth
# Test accuracy climbs layer by layer, as in the paper. The middle conv
# layers fit their training images perfectly yet generalise less well than
# relu7: their features are many and generic, the top ones few and specific.

# %%
test_acc = [results[layer].test_accuracy for layer in layers]
train_acc = [results[layer].train_accuracy for layer in layers]
print("wrote", curve(layers, [train_acc, test_acc], os.path.join(OUT, "11_features.png"), xlabel="layer",
                     ylabel="accuracy", title="softmax on frozen features", labels=["train", "test"]))
print("rises with depth:", bool(np.all(np.diff(test_acc) > -0.02)))

# %% [markdown]
# ## Exercises
# **Exercise 1.** Average each map of `maps` (N, C, H, W) over a `grid` x
# `grid` grid of equal blocks (H and W divisible by grid): (N, C, grid, grid).

# %%
from minizf.lessons.exercises import attempt, check  # noqa: E402


def pool_to_grid_by_hand(maps, grid):
    raise NotImplementedError          # your code here


pool_to_grid_by_hand = attempt(pool_to_grid_by_hand, "11_features")
with check("pool_to_grid_by_hand", "reshape to (N, C, grid, H // grid, grid, W // grid) and average axes 3 and 5 "
                                   "(the pixels inside a block), not the blocks themselves"):
    maps_ = np.random.default_rng(1).standard_normal((2, 3, 8, 12))
    pooled_ = pool_to_grid_by_hand(maps_, 4)
    assert pooled_.shape == (2, 3, 4, 4)
    assert np.isclose(pooled_.mean(), maps_.mean())                                  # averages keep the mean
    assert np.isclose(pooled_[1, 2, 3, 0], maps_[1, 2, 6:8, 0:3].mean())            # block (3, 0): rows 6-7, cols 0-2
    ramp = np.broadcast_to(np.arange(12.0), (1, 1, 8, 12))
    assert np.allclose(pool_to_grid_by_hand(ramp, 4)[0, 0, 0], [1, 4, 7, 10])       # columns stay in order

# %% [markdown]
# **Exercise 2.** Features for a probe are standardised: each feature
# minus its mean, over its standard deviation. Standardise `train_x` and
# `test_x` (N, D) the way a fair test does.

# %%
def standardize(train_x, test_x):
    raise NotImplementedError          # your code here


standardize = attempt(standardize, "11_features")
with check("standardize", "take the mean and std of the training features only and apply them to both: "
                          "the test set must not be looked at (and a feature with std 0 divides by 1)"):
    tr = np.random.default_rng(2).standard_normal((50, 4)) * [1, 2, 3, 0] + 5
    te = tr[:10] + 10                                                  # a shifted test set
    a, b = standardize(tr, te)
    assert np.allclose(a[:, :3].mean(axis=0), 0) and np.allclose(a[:, :3].std(axis=0), 1) and np.isfinite(a).all()
    assert np.allclose(b[:, :3], a[:10, :3] + 10 / tr[:, :3].std(axis=0))     # the training set's scale
    assert np.allclose(a[:, 3], 0) and np.allclose(b[:, 3], 10)                   # a constant feature
print("exercises of lesson 11: done")
