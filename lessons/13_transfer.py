# %% [markdown]
# # Lesson 13 — features that travel: few examples per class (Tables 4-5, Fig. 9)
#
# Sec. 5.2 keeps layers 1-7 of the ImageNet model fixed and trains only a new
# softmax on top, with 15 or 30 images per class of Caltech-101. With so few
# examples a network trained from scratch barely learns (46.5% at 30 per
# class), while the pretrained features reach 86.5%: what the lower layers
# learned on a million images is useful far beyond them.
#
# Caltech is not bundled, so this lesson runs the same protocol on CIFAR-10
# test images, which the bundled model never trained on. They are its own
# classes, so this measures *few-shot learning on pretrained features* rather
# than a new dataset; `minizf transfer --images FOLDER` runs it on any image
# folder with one sub-folder per class (Caltech-101's layout).

# %%
import os

import numpy as np

from minizf import analysis, data
from minizf.plot import curve

OUT = os.environ.get("MINIZF_OUT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
QUICK = bool(os.environ.get("MINIZF_QUICK"))         # the test suite runs a shorter version
PER_CLASS, FOLDS, TEST, SCRATCH_EPOCHS = ((5, 15), 1, 20, 8) if QUICK else ((5, 15, 30), 3, 50, 30)

# %% [markdown]
# ## 1. A few-shot split
# Per class, a few random images to train on and others to test on. The
# score is Caltech's: the accuracy of each class, averaged over the classes
# (so a class with many test images counts no more than one with few), and
# averaged again over several random splits ("folds").

# %%
net, mean, meta = data.bundled_model("zf_small")
test_set = data.load_cifar10(split="test")
train_idx, test_idx = analysis.few_shot_split(test_set.labels, 5, TEST, np.random.default_rng(0))
print("training images per class:", np.bincount(test_set.labels[train_idx]))
print("test images per class:    ", np.bincount(test_set.labels[test_idx]))

# %% [markdown]
# ## 2. Pretrained features + softmax, against training from scratch
# `analysis.transfer` computes layer 7's features of every image once, then
# for each split trains only a softmax on the training images' features. With
# `scratch_epochs` it also trains the whole architecture from a fresh start on
# the same few images (Sec. 3's recipe), the paper's comparison.

# %%
results = analysis.transfer(net, mean, test_set, per_class=PER_CLASS, test_per_class=TEST, folds=FOLDS,
                            layer="relu7", scratch_epochs=SCRATCH_EPOCHS, model_name=meta["model"],
                            model_options=meta["model_options"])

# %% [markdown]
# ## 3. Accuracy against the number of examples (Fig. 9)
# The pretrained curve starts high and rises slowly; the scratch curve starts
# near chance (10%). The gap is what the first seven layers learned from the
# 50,000 training images.

# %%
pretrained = [float(np.mean(r.pretrained)) for r in results]
scratch = [float(np.mean(r.scratch)) for r in results]
print("wrote", curve(list(PER_CLASS), [pretrained, scratch], os.path.join(OUT, "13_transfer.png"),
                     xlabel="training images per class", ylabel="mean class accuracy",
                     title="few-shot: frozen features vs from scratch",
                     labels=["pretrained + softmax", "from scratch"]))
print("pretrained ahead at every size:", all(p > s for p, s in zip(pretrained, scratch)))
