"""Data-parallel training over MPI: images per second, the time one allreduce of the gradients
takes, and the share of a step it costs, at 1 and 2 ranks (one thread each).

    mpiexec -n 1 python benchmarks/distributed.py      # then
    mpiexec -n 2 python benchmarks/distributed.py      # each writes results/distributed_K.json

The model is the 32 px zf_small at a global batch of 128 (64 images per rank at 2 ranks). A step is
minizf's Trainer step: crops, forward, backward of the rank's shard, one Allreduce of every gradient
(2.2 M float32 values, 8.7 MB), the SGD step. The bytes a rank sends per step in a ring allreduce are
2 (K - 1) / K times the gradient's size; for the 224 px Fig. 3 model (58 M parameters) that is 233 MB.
"""
import json
import os
import sys
import time

os.environ.setdefault("MINIZF_THREADS", "1")                      # one thread per rank
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from minizf import data, models  # noqa: E402
from minizf.distributed import world  # noqa: E402
from minizf.train import Trainer, TrainConfig  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS, BATCH = 6, 128


def main():
    comm = world(distributed=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (BATCH * (STEPS + 1), 3, 32, 32), dtype=np.uint8)
    train = data.ArrayDataset(images, np.arange(len(images)) % 10, [str(c) for c in range(10)], "random")
    trainer = Trainer(models.zf_small(), "zf-small", train, None, TrainConfig(epochs=1, batch_size=BATCH),
                      "/tmp/minizf-bench-distributed", progress=False, log=lambda *a: None, comm=comm)
    trainer.mean = data.mean_image(train)
    grads = lambda: [g for _, _, g in trainer.net.named_parameters()]            # noqa: E731
    order, aug, _ = trainer._start_epoch(1)
    step_times, reduce_times = [], []
    for b in range(STEPS + 1):
        idx = np.sort(order[b * BATCH:(b + 1) * BATCH])
        t0 = time.perf_counter()
        trainer._train_step(train.images[idx], train.labels[idx], aug)
        step_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        comm.allreduce_sum(grads())                      # one more allreduce of the same size, timed alone
        reduce_times.append(time.perf_counter() - t0)
    step, reduce = float(np.median(step_times[1:])), float(np.median(reduce_times[1:]))   # the first warms up
    values = sum(g.size for g in grads())
    result = {"ranks": comm.size, "global_batch": BATCH, "images_per_second": BATCH / step,
              "step_seconds": step, "allreduce_seconds": reduce if comm.size > 1 else 0.0,
              "allreduce_share_of_step": (reduce / step) if comm.size > 1 else 0.0,
              "gradient_megabytes": values * 4 / 1e6,
              "megabytes_sent_per_rank_per_step": 2 * (comm.size - 1) / comm.size * values * 4 / 1e6,
              "mpi": comm.name}
    if comm.rank == 0:
        path = os.path.join(HERE, "results", f"distributed_{comm.size}.json")
        with open(path, "w") as f:
            json.dump(result, f, indent=1)
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
