# %% [markdown]
# # Lesson 13 — features that travel: few examples per class (Tables 4-5, Fig. 9)
#
# *Run time: about 20 seconds (class-length; `MINIZF_FULL=1`: over 25 minutes) on a 2-core CPU.*
#
# Sec. 5.2 keeps layers 1-7 of the ImageNet model fixed and trains only a new
# softmax on top, with 15 or 30 images per class of Caltech-101. With so few
# examples a network trained from scratch barely learns (46.5% at 30 per
# class), while the pretrained features reach 86.5%: what the lower layers
# learned on a million images is useful far beyond them.
#
# Here the pretrained model is the bundled `zf64`, trained on only 10
# ImageNet classes (Imagenette, 64 px), and the new task is Caltech-101
# (102 classes, from `../shared/data/caltech101` or `$MINIZF_DATA`). Expect
# lower numbers than the paper's: look at *which layer* transfers best.

# %%
import os

import numpy as np

from minizf import analysis, data
from minizf.plot import curve
from minizf.figures import default_model

from minizf.lessons.exercises import out_folder  # noqa: E402

OUT = out_folder()          # $MINIZF_OUT, else out/ beside the script (a notebook: where it runs)
# Class-length by default (under a minute on 2 cores, numbers as rough as the run is short);
# MINIZF_FULL=1 runs the full version (20-30 minutes on 2 cores).
QUICK = not os.environ.get("MINIZF_FULL")
PER_CLASS, FOLDS, TEST, SCRATCH_EPOCHS = ((5, 15), 2, 10, 4) if QUICK else ((5, 15, 30), 3, 50, 30)

# %% [markdown]
# ## 1. Caltech-101 as the model sees it
# Each photo's short side is resized to 72 px and its centre 64 px kept, as
# the model was trained. (The quick version takes 12 classes, 40 photos each.)

# %%
net, mean, meta = default_model()
folder = data.data_root() / "caltech101"
keep = sorted(p.name for p in folder.iterdir() if p.is_dir())[:12] if QUICK else None
caltech = data.load_image_folder(folder, size=mean.shape[-1], crop=net.input_shape[-1], name="Caltech-101",
                                 classes=keep, per_class=40 if QUICK else None)
print(f"{len(caltech)} photos of {len(caltech.classes)} classes, {caltech.images.shape[1:]}")

# %% [markdown]
# ## 2. A few-shot split
# Per class, a few random images to train on and up to 50 others to test on.
# The score is Caltech's: the accuracy of each class, averaged over the
# classes (so a class with many test images counts no more than one with
# few), and averaged again over several random splits ("folds").

# %%
train_idx, test_idx = analysis.few_shot_split(caltech.labels, 5, TEST, np.random.default_rng(0))
print("training images per class:", np.bincount(caltech.labels[train_idx])[:12], "...")
print("test images per class:    ", np.bincount(caltech.labels[test_idx])[:12], "...")

# %% [markdown]
# ## 3. Frozen features + softmax, against training from scratch
# `analysis.transfer` computes each layer's features of every image once,
# then for each split trains only a softmax on the training images' features
# of layer 5 and of layer 7. With `scratch_epochs` it also trains the whole
# architecture from a fresh start on the same few images, the paper's
# comparison.

# %%
results = analysis.transfer(net, mean, caltech, per_class=PER_CLASS, test_per_class=TEST, folds=FOLDS,
                            layers=("relu5", "relu7"), scratch_epochs=SCRATCH_EPOCHS, model_name=meta["model"],
                            model_options=meta["model_options"])

# %% [markdown]
# ## 4. Accuracy against the number of examples (Fig. 9)
# The paper's pretrained curve starts high and rises slowly; the scratch
# curve starts near chance. With a model pretrained on 10 classes, look at
# how layer 5 (generic shapes and textures) compares with layer 7 (features
# specialised for those 10 classes).

# %%
curves = {key: [float(np.mean(r.probes[key])) for r in results] for key in results[0].probes}
curves["from scratch"] = [float(np.mean(r.scratch)) for r in results]
print("wrote", curve(list(PER_CLASS), list(curves.values()), os.path.join(OUT, "13_transfer.png"),
                     xlabel="training images per class", ylabel="mean class accuracy",
                     title="Caltech-101: frozen features vs from scratch", labels=list(curves),
                     errors=[[float(np.std(r.probes[k])) for r in results] for k in results[0].probes]
                     + [[float(np.std(r.scratch)) for r in results]]))
print(analysis.transfer_verdict(results))

# %% [markdown]
# ## Exercises
# **Exercise 1.** The Caltech-101 protocol: per class, `per_class` random
# images to train on and up to `test_per_class` *other* images to test on.
# Return `(train indices, test indices)`, each sorted.

# %%
from minizf.lessons.exercises import attempt, check  # noqa: E402


def per_class_split(labels, per_class, test_per_class, rng):
    raise NotImplementedError          # your code here


per_class_split = attempt(per_class_split, "13_transfer")
with check("per_class_split", "shuffle each class's own indices (np.flatnonzero(labels == c)), take the first "
                              "per_class to train and the next test_per_class to test: never the same image twice"):
    lab = np.repeat(np.arange(4), [9, 12, 7, 30])
    tr_, te_ = per_class_split(lab, 5, 4, np.random.default_rng(6))
    assert not set(tr_) & set(te_)                                                  # disjoint
    assert list(np.bincount(lab[tr_])) == [5, 5, 5, 5]
    assert list(np.bincount(lab[te_])) == [4, 4, 2, 4]                              # class 2 has 7 images
    assert list(tr_) == sorted(tr_) and list(te_) == sorted(te_)
    other = per_class_split(lab, 5, 4, np.random.default_rng(7))[0]
    assert list(other) != list(tr_)                                                 # drawn, not the first five

# %% [markdown]
# **Exercise 2.** Caltech-101 is scored by the *mean class accuracy*: the
# accuracy within each class, averaged over the classes, so a big class
# does not outweigh a small one.

# %%
def mean_class_accuracy_by_hand(labels, predictions):
    raise NotImplementedError          # your code here


mean_class_accuracy_by_hand = attempt(mean_class_accuracy_by_hand, "13_transfer")
with check("mean_class_accuracy_by_hand", "average the per-class accuracies over the classes present, not the "
                                          "accuracy over all images (which weights big classes more)"):
    lab = np.array([0] * 90 + [1] * 10)
    pred = np.zeros(100, int)                                                       # always class 0
    assert np.isclose(mean_class_accuracy_by_hand(lab, pred), 0.5)                 # plain accuracy: 0.9
    assert mean_class_accuracy_by_hand(lab, lab) == 1
    twice = np.concatenate([lab, lab[lab == 1]]), np.concatenate([pred, pred[lab == 1]])
    assert np.isclose(mean_class_accuracy_by_hand(*twice), 0.5)                     # more of a class: the same
print("exercises of lesson 13: done")
