# %% [markdown]
# # Lesson 4 — training as in Sec. 3, one epoch by hand
#
# *Run time: about 40 seconds (`MINIZF_QUICK=1`: 10 seconds) on a 2-core CPU.*
#
# The paper trains with SGD (mini-batches of 128, learning rate 1e-2,
# momentum 0.9), subtracts the per-pixel mean image, augments with random
# crops and flips, and renormalizes any first-layer filter whose RMS grows
# past a fixed radius. Here we write that loop out for one epoch over part of
# CIFAR-10, so every step is visible. `minizf train` runs the same loop with
# checkpoints, resuming and logging (see `minizf.train.Trainer`).
#
# Needs CIFAR-10 in its official Python format (`cifar-10-batches-py/`):
# point `MINIZF_DATA` at the folder that holds it, e.g.
# `MINIZF_DATA=../shared/data python lessons/04_training.py` (without it,
# minizf looks in ../shared/data beside the repository), or fetch it once
# with `minizf.data.download_cifar10(PATH)`.

# %%
import os
import time

import numpy as np

import minizf as mz
from minizf import data
from minizf.plot import curve, image_grid
from minizf.train import SGD, evaluate, init_weights, renormalize_filters

from minizf.lessons.exercises import out_folder  # noqa: E402

OUT = out_folder()          # $MINIZF_OUT, else out/ beside the script (a notebook: where it runs)
QUICK = bool(os.environ.get("MINIZF_QUICK"))         # the test suite runs a shorter version
N_TRAIN = 1024 if QUICK else 10000

# %% [markdown]
# ## 1. The data, kept as uint8
# 50,000 training images of 32x32 take 150 MB as bytes; as float32 they
# would take 600 MB. So images stay uint8 until a batch is made.

# %%
train = data.load_cifar10(split="train")
test = data.load_cifar10(split="test").subset(np.arange(1000))
print(train.name, train.images.shape, train.images.dtype, f"{train.images.nbytes / 2**20:.0f} MB")
print("classes:", ", ".join(train.classes))

# %% [markdown]
# ## 2. Mean subtraction and augmentation
# The per-pixel mean image is computed once on the training set and stored
# with the model. Each batch is scaled to [0, 1], the mean is subtracted, and
# every image gets a random 32x32 crop of its 4-pixel-padded self, mirrored
# half of the time.

# %%
mean = data.mean_image(train)
print("mean colour (0-255):", np.round(mean.mean(axis=(1, 2)) * 255, 1))
rng = np.random.default_rng(0)
batch = data.normalize(train.images[:6], mean)
augmented = data.random_crops(batch, 32, 4, rng)
print("wrote", image_grid(list(batch + mean) + list(augmented + mean), os.path.join(OUT, "04_augmentation.png"),
                          ncols=6, titles=[train.classes[c] for c in train.labels[:6]] + ["augmented"] * 6))

# %% [markdown]
# ## 3. The model and the optimiser
# `zf_small` keeps the paper's 8-layer shape for 32-pixel images. Weights
# start as He's N(0, 2/fan_in), scaled to each layer's fan-in, as the shipped
# model did; `init_weights(net, "paper")` gives the paper's N(0, 0.01^2).
# Biases start at 0.

# %%
net = mz.models.zf_small()
init_weights(net, "he", seed=0)
ce = mz.SoftmaxCrossEntropy()
sgd = SGD(momentum=0.9, weight_decay=5e-4)
lr, batch_size = 0.02, 128

# %% [markdown]
# ## 4. One epoch
# forward -> loss -> backward -> SGD step -> filter renormalization, for
# every mini-batch of a shuffled order.

# %%
order = np.random.default_rng(1).permutation(N_TRAIN)
losses, started = [], time.perf_counter()
for b in range(0, N_TRAIN, batch_size):
    idx = np.sort(order[b:b + batch_size])
    x = data.random_crops(data.normalize(train.images[idx], mean), 32, 4, rng)
    loss = ce.forward(net.forward(x, train=True), train.labels[idx])
    net.backward(ce.backward(), input_grad=False)   # no gradient for the images themselves
    sgd.step(net, lr)
    renormalize_filters(net, {"conv1": 0.5})
    losses.append(loss)
    if (b // batch_size) % 10 == 0:
        seen = b + len(idx)
        print(f"batch {b // batch_size:3d}: loss {loss:.3f}  ({seen / (time.perf_counter() - started):.0f} images/s)")

print("wrote", curve(np.arange(len(losses)), losses, os.path.join(OUT, "04_loss.png"), xlabel="mini-batch",
                     ylabel="cross-entropy", title=f"one epoch over {N_TRAIN} CIFAR-10 images"))

# %% [markdown]
# ## 5. How good is it after one epoch?
# Chance is 10%. The shipped model (`data/zf_small.npz`) trained for many
# epochs on all 50,000 images; `minizf evaluate` reports its error.

# %%
result = evaluate(net, test, mean)
print(f"after one epoch: top-1 accuracy {result['top1']:.3f}, top-5 {result['top5']:.3f} "
      f"on {len(test)} test images")

# %% [markdown]
# ## Exercises
# **Exercise 1.** One step of SGD with momentum and weight decay, as `minizf.train.SGD` does it
# for each weight array: `v' = momentum v - lr (grad + weight_decay param)`,
# `param' = param + v'`. Return `(param', v')` without changing the inputs.
# Until you write it, the solution in `lessons/solutions/04_training.py` runs.
# (`minizf assignment make sgd` grades it, including a short training run.)

# %%
from minizf.lessons.exercises import attempt, check  # noqa: E402


def momentum_step(param, grad, velocity, lr, momentum, weight_decay):
    raise NotImplementedError          # your code here


momentum_step = attempt(momentum_step, "04_training")
ex_rng = np.random.default_rng(0)
p0, g0, v0 = ex_rng.standard_normal(5), ex_rng.standard_normal(5), ex_rng.standard_normal(5)
with check("momentum_step", "v' = momentum v - lr (grad + weight_decay param), then param' = param + v' "
                            "(the new velocity, not the old one); return new arrays, leave the inputs alone"):
    before = p0.copy(), v0.copy()
    p1, v1 = momentum_step(p0, g0, v0, 0.1, 0.9, 5e-4)
    expected_p, expected_v = mz.functional.sgd_momentum(p0, g0, v0, 0.1, 0.9, 5e-4)
    assert np.allclose(p1, expected_p) and np.allclose(v1, expected_v)
    assert np.array_equal(p0, before[0]) and np.array_equal(v0, before[1])
    p, v = np.zeros(3), np.zeros(3)
    for _ in range(200):                                   # minimise |p - 3|^2 / 2
        p, v = momentum_step(p, p - 3.0, v, 0.1, 0.9, 0.0)
    assert np.allclose(p, 3.0, atol=1e-4)

# %% [markdown]
# **Exercise 2.** Sec. 3's renormalization: after each step, every filter
# of `W` (F, C, kh, kw) whose RMS exceeds `radius` is scaled back to RMS
# `radius`; the others stay as they are. Return the new array.

# %%
def renormalize(W, radius):
    raise NotImplementedError          # your code here


renormalize = attempt(renormalize, "04_training")
with check("renormalize", "the RMS of a filter is sqrt(mean of its squares) over its C x kh x kw weights; scale "
                          "only the filters above the radius, each by radius / its RMS (a direction kept)"):
    W0 = np.random.default_rng(6).standard_normal((6, 3, 5, 5)) * np.array([0.05, 0.5, 2, 0.09, 0.2, 1])[:, None,
                                                                                                          None, None]
    W1 = renormalize(W0.copy(), 0.1)
    rms = lambda a: np.sqrt((a.reshape(len(a), -1) ** 2).mean(axis=1))      # noqa: E731
    assert (rms(W1) <= 0.1 + 1e-12).all() and np.allclose(rms(W1)[rms(W0) > 0.1], 0.1)
    assert np.array_equal(W1[rms(W0) <= 0.1], W0[rms(W0) <= 0.1])           # small filters untouched
    cosine = (W1 * W0).reshape(6, -1).sum(axis=1) / (np.linalg.norm(W1.reshape(6, -1), axis=1) *
                                                     np.linalg.norm(W0.reshape(6, -1), axis=1))
    assert np.allclose(cosine, 1.0)                                         # directions kept
print("exercises of lesson 4: done")
