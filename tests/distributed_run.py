"""Run by tests/test_distributed.py under ``mpiexec -n K``: 20 SGD steps of a small zf_small in
float64 on CIFAR-shaped images, data-parallel over the ranks; rank 0 saves the per-step losses and
the final weights to the .npz named on the command line. With K = 1 (no mpiexec) it is the
single-process reference."""
import sys

import numpy as np

from minizf import models
from minizf.distributed import world
from minizf.train import Trainer, TrainConfig

from tests.test_train import TINY, tiny_set


def main(out, distributed):
    comm = world(distributed)
    net = models.zf_small(**TINY).astype("float64")
    config = TrainConfig(epochs=5, batch_size=12, lr=0.01, snapshots=(), seed=3)    # 48 images: 4 steps an epoch
    trainer = Trainer(net, "zf-small", tiny_set(48), None, config, out + ".run", model_options=TINY,
                      progress=False, log=lambda *a: None, comm=comm)
    losses, step = [], trainer._train_step

    def recorded(*args, **kwargs):
        loss, correct = step(*args, **kwargs)
        losses.append(loss)
        return loss, correct
    trainer._train_step = recorded
    trainer.run()
    if comm.rank == 0:
        np.savez(out, losses=np.array(losses), **{f"w/{k}": v for k, v in trainer.net.state_dict().items()})


if __name__ == "__main__":
    main(sys.argv[1], "--distributed" in sys.argv)
