# %% [markdown]
# # Lesson 16 — data-parallel SGD is one allreduce
#
# *Run time: about 2 seconds on a 2-core CPU.*
#
# The paper trained for 12 days on one GPU. With K machines, each can take
# 1/K of every batch: the loss of a batch is the mean of its images' losses,
# so its gradient is the sum over the shards of (shard size / batch size) x
# (the gradient of the shard's mean loss). Summing K arrays held on K
# machines, and giving every machine the sum, is MPI's **allreduce**; after
# it every machine takes the same SGD step, and the weights never drift
# apart. `minizf mpirun -n K train ...` (mpiexec underneath) does exactly this
# (minizf.distributed, with mpi4py); this lesson checks the arithmetic in
# one process and counts what it costs.

# %%
import json
import os

import numpy as np

import minizf as mz
from minizf import models
from minizf.distributed import shard_bounds
from minizf.plot import curve
from minizf.train import init_weights

from minizf.lessons.exercises import out_folder  # noqa: E402

OUT = out_folder()          # $MINIZF_OUT, else out/ beside the script (a notebook: where it runs)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. K shards give the batch's gradient
# A small ZF network in float64, a batch of 12 images, split over K = 3
# "machines". Dropout must drop the same units as one process would: each
# shard takes its rows of one mask drawn for the whole batch (every rank
# draws it from the same seed).

# %%
net = models.zf_small(widths=(4, 6, 6, 6, 4), fc_width=8).astype("float64")
init_weights(net, "he", seed=0)
x, y = rng.standard_normal((12, 3, 32, 32)), rng.integers(0, 10, 12)
ce = mz.SoftmaxCrossEntropy()
drops = [layer for _, layer in net if isinstance(layer, mz.Dropout)]


def gradients():
    return {name: g.copy() for name, _, g in net.named_parameters()}


for layer in drops:
    layer.reseed(7)
ce.forward(net.forward(x, train=True), y)
net.backward(ce.backward(), input_grad=False)
whole = gradients()

K, total = 3, None
for rank in range(K):
    lo, hi = shard_bounds(len(x), rank, K)
    for layer in drops:
        layer.reseed(7)
        layer.shard = (lo, hi, len(x))              # rows lo:hi of the batch's mask
    ce.forward(net.forward(x[lo:hi], train=True), y[lo:hi])
    net.backward(ce.backward((hi - lo) / len(x)), input_grad=False)   # this shard's share of the mean
    mine = gradients()
    total = mine if total is None else {k: total[k] + mine[k] for k in total}    # what allreduce computes
worst = max(float(np.abs(total[k] - whole[k]).max() / np.abs(whole[k]).max()) for k in whole)
print(f"{K} shards vs the whole batch: largest relative difference {worst:.1e} (float64 round-off)")
assert worst < 1e-12

# %% [markdown]
# ## 2. What one step sends
# Every step each rank sends and receives the whole gradient: in a ring
# allreduce (what MPI libraries and NCCL use for large arrays) each rank
# sends 2 (K - 1) / K times its size, whatever K is. Against that stands the
# compute of a step, which shrinks as 1/K.

# %%
def step_flops(net, batch):
    """Multiply-adds of the conv and fc layers for one forward of ``batch`` images, x3 for a training
    step (forward, input gradient, weight gradient)."""
    macs = 0
    for (name, shape), (_, layer) in zip(net.output_shapes(net.input_shape), net):
        if isinstance(layer, (mz.Conv2D, mz.Linear)):
            macs += int(np.prod(shape)) * int(np.prod(layer.params["W"].shape[1:]))
    return 3 * 2 * macs * batch


ks, ratios, names = np.arange(1, 17), [], []
for name, builder, batch in [("zf64 (64 px)", models.zf64, 128), ("zf (224 px, Fig. 3)", models.zfnet, 128)]:
    model = builder()
    grad_mb = 4 * models.parameter_count(model) / 1e6
    flops = step_flops(model, batch)
    print(f"{name}: gradient {grad_mb:.0f} MB; per step each of K ranks sends {grad_mb:.0f} x 2(K-1)/K MB "
          f"({grad_mb:.0f} MB at K = 2, {2 * grad_mb:.0f} MB as K grows) and computes {flops / 1e9:.0f} / K GFLOP")
    ratios.append(2 * (ks - 1) / ks * grad_mb / (flops / 1e9 / ks))      # MB sent per GFLOP computed, per rank
    names.append(name)
print("wrote", curve(ks, ratios, os.path.join(OUT, "16_data_parallel.png"), xlabel="ranks K",
                     ylabel="MB sent per GFLOP computed", title="a step's communication against its compute",
                     labels=names))

# %% [markdown]
# ## 3. Measured here, and on K machines
# `mpiexec -n 1` and `-n 2 python benchmarks/distributed.py` time the
# 32 px model's step and its allreduce on this machine (one thread per
# rank; the results are in benchmarks/results/). Between machines the same
# 8.7 MB crosses a network: at 10 Gbit/s about 7 ms each way, small against
# a CPU step of a second, and the reason GPUs need NCCL and fast links:
# their step takes milliseconds.

# %%
here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(mz.__file__))), "benchmarks", "results")
for k in (1, 2):
    path = os.path.join(here, f"distributed_{k}.json")
    if os.path.exists(path):
        r = json.load(open(path))
        print(f"stored result of benchmarks/distributed.py (not measured now), {k} rank(s): "
              f"{r['images_per_second']:.0f} images/s, step {r['step_seconds']:.2f} s, allreduce "
              f"{1000 * r['allreduce_seconds']:.1f} ms ({100 * r['allreduce_share_of_step']:.1f}% of a step)")

# %% [markdown]
# ## Exercises
# **Exercise 1.** Split a batch of `batch` rows over `size` ranks as
# `shard_bounds` does: contiguous shards in rank order, the first
# `batch % size` ranks one row more. Return rank `rank`'s `(lo, hi)`.

# %%
from minizf.lessons.exercises import attempt, check  # noqa: E402


def shard_of(batch, rank, size):
    raise NotImplementedError          # your code here


shard_of = attempt(shard_of, "16_data_parallel")
with check("shard_of", "each rank takes batch // size rows, the first batch % size ranks one more; rank r "
                       "starts after the rows of ranks 0..r-1: lo = r * base + min(r, extra)"):
    for batch, size in [(12, 3), (13, 4), (3, 5), (128, 7), (1, 1)]:
        bounds = [shard_of(batch, r, size) for r in range(size)]
        assert bounds[0][0] == 0 and bounds[-1][1] == batch                  # the whole batch
        assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))        # in order, no gap, no overlap
        counts = [hi - lo for lo, hi in bounds]
        assert max(counts) - min(counts) <= 1 and counts == sorted(counts, reverse=True)

# %% [markdown]
# **Exercise 2.** The weight of a shard: each rank computes the *mean*
# gradient of its own rows; what must it multiply it by so that the sum
# over ranks (the allreduce) is the mean gradient of the whole batch? The
# check uses least squares, whose gradient is known exactly, and uneven
# shards.

# %%
def shard_weight(lo, hi, batch):
    raise NotImplementedError          # your code here


shard_weight = attempt(shard_weight, "16_data_parallel")
with check("shard_weight", "a shard's mean is over its own hi - lo rows: weight it by its share of the "
                           "batch, (hi - lo) / batch (not 1 / size: the shards differ in size)"):
    A, t, w = rng.standard_normal((13, 5)), rng.standard_normal(13), rng.standard_normal(5)
    mean_grad = lambda rows: A[rows].T @ (A[rows] @ w - t[rows]) / len(rows)   # noqa: E731 - of |Aw - t|^2 / 2
    summed = sum(shard_weight(lo, hi, 13) * mean_grad(np.arange(lo, hi))
                 for lo, hi in (shard_bounds(13, r, 4) for r in range(4)))
    assert np.allclose(summed, mean_grad(np.arange(13)), rtol=1e-12)
print("exercises of lesson 16: done")
