# %% [markdown]
# # Lesson 12 — which layers matter? Ablations (Table 3, Sec. 5.1)
#
# *Run time: about 20 seconds (class-length; `MINIZF_FULL=1`: 18 minutes) on a 2-core CPU.*
#
# The visualizations of Sec. 4 show *what* the layers compute. Sec. 5.1 asks
# a blunter question: what happens to the error if a layer is removed, or
# made wider, and the network retrained? The paper's answers (Table 3):
#
# * removing the fully connected layers 6 and 7 barely hurts, although they
#   hold most of the parameters;
# * removing the middle conv layers 3 and 4 hurts a little more;
# * removing all four hurts a lot: *depth* matters, not one layer;
# * wider middle conv layers help; wider fully connected layers on top of
#   them overfit.
#
# Here the same surgery is done to the 32-px model on a slice of CIFAR-10.
# Every variant gets the same data, schedule and seed, so the differences
# come from the architecture alone (and from the noise of a short run: treat
# differences of a point or two as ties).

# %%
import os
import tempfile

from minizf import analysis, data, models
from minizf.plot import bars
from minizf.train import TrainConfig

from minizf.lessons.exercises import out_folder  # noqa: E402

OUT = out_folder()          # $MINIZF_OUT, else out/ beside the script (a notebook: where it runs)
# Class-length by default (under a minute on 2 cores, numbers as rough as the run is short);
# MINIZF_FULL=1 runs the full version (20-30 minutes on 2 cores).
QUICK = not os.environ.get("MINIZF_FULL")
N_TRAIN, N_VAL, EPOCHS = (1000, 500, 1) if QUICK else (5000, 1000, 4)
KEYS = ["full", "no-6-7", "no-3-4"] if QUICK else ["full", "no-7", "no-6-7", "no-3-4", "no-3-4-6-7"]

# %% [markdown]
# ## 1. The variants
# `analysis.VARIANTS` lists Table 3's rows as options of the model builder:
# `drop` removes layers (a removed conv layer takes its ReLU with it; a
# removed fc layer its ReLU and dropout), `widths` and `fc_width` resize them.
# Count the parameters: fc6 alone holds about half of them.

# %%
for key, description, options in analysis.variants():
    net = models.zf_small(**options)
    print(f"{key:<13}{models.parameter_count(net):>11,} parameters  {description}")
print()
print(models.zf_small(drop=(6, 7)))

# %% [markdown]
# ## 2. Train each variant the same way
# `analysis.ablation` trains every variant with minizf's own SGD (Sec. 3's
# recipe: momentum 0.9, weight decay, crops and flips, dropout) and measures
# the top-1 error on the training images (no augmentation, no dropout) and on
# validation images it never saw. Each variant checkpoints in its own folder,
# so a study that is interrupted resumes where it stopped.

# %%
train = data.load_cifar10(split="train").subset(range(N_TRAIN))
val = data.load_cifar10(split="test").subset(range(N_VAL))
config = TrainConfig(epochs=EPOCHS, lr=0.01, snapshots=())
with tempfile.TemporaryDirectory(prefix="minizf_ablation_") as runs:     # checkpoints, deleted after
    results = analysis.ablation(train, val, config, runs, keys=KEYS, progress=False, log=lambda *_: None)
print(f"{'variant':<13}{'parameters':>11}{'train error':>13}{'val error':>11}")
for r in results:
    print(f"{r.key:<13}{r.parameters:>11,}{r.train_error:>13.3f}{r.val_error:>11.3f}")

# %% [markdown]
# ## 3. Compare
# With a few thousand images and a few epochs nothing has converged, so read
# the bars as a first look (the README has the table of a longer run, made
# with `minizf ablation`). A large gap between the train and validation bars
# of a variant is overfitting: the bigger fully connected layers show it
# first.

# %%
print("wrote", bars([r.key for r in results], [[r.train_error for r in results],
                                               [r.val_error for r in results]],
                    os.path.join(OUT, "12_ablation.png"), ylabel="top-1 error",
                    title="Table 3 at small scale", labels=["train", "validation"]))

# %% [markdown]
# ## Exercises
# **Exercise 1.** Table 3 lists each variant's size. Count the learned
# numbers of a network given as a list of layers: `("conv", in, out, k)`
# (k x k filters with a bias each) and `("fc", in, out)` (with biases).

# %%
import numpy as np  # noqa: E402

from minizf.lessons.exercises import attempt, check  # noqa: E402


def parameter_count(layers):
    raise NotImplementedError          # your code here


parameter_count = attempt(parameter_count, "12_ablation")
with check("parameter_count", "a conv has out x in x k x k weights plus out biases, a fully connected layer "
                              "out x in weights plus out biases"):
    for key, _, options in analysis.variants(KEYS):
        built = models.build("zf-small", **options)
        spec = [("conv", l.in_channels, l.out_channels, l.kernel_size[0]) if hasattr(l, "kernel_size") and "W" in
                l.params else ("fc", l.params["W"].shape[1], l.params["W"].shape[0])
                for _, l in built if "W" in l.params]
        counted = sum(int(np.prod(p.shape)) for _, p, _ in built.named_parameters())
        assert parameter_count(spec) == counted, (key, parameter_count(spec), counted)

# %% [markdown]
# **Exercise 2.** The table's error: the share of images whose highest
# score is not their label (top-1 error), from `scores` (N, classes).

# %%
def top1_error(scores, labels):
    raise NotImplementedError          # your code here


top1_error = attempt(top1_error, "12_ablation")
with check("top1_error", "take argmax over the classes (axis 1), not over the images, and count where it differs "
                         "from the label: a share in [0, 1]"):
    sc = np.random.default_rng(3).standard_normal((50, 10))
    lab = np.random.default_rng(4).integers(0, 10, 50)
    perfect = np.eye(10)[lab]
    assert top1_error(perfect, lab) == 0 and top1_error(-perfect, lab) == 1       # every label scored lowest
    assert np.isclose(top1_error(sc + 7 * np.arange(50)[:, None], lab), top1_error(sc, lab))   # a shift per image
    order = np.random.default_rng(5).permutation(50)
    assert np.isclose(top1_error(sc[order], lab[order]), top1_error(sc, lab))
    assert np.isclose(top1_error(sc, lab), np.mean([sc[i].argmax() != lab[i] for i in range(50)]))
print("exercises of lesson 12: done")
