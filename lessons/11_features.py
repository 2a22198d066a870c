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
