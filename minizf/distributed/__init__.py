"""Data-parallel training and scans over MPI, the engine ChainerMN and Horovod use.

Every rank builds the same network from the same seed and reads the same global
batch (the same images, crops and dropout masks as one process would draw);
each takes its shard of the batch, computes the gradient of its share of the
loss, and one allreduce sums the shares: the gradient of the whole batch.
Every rank then takes the same SGD step, so the weights never drift apart and a
checkpoint does not depend on how many ranks wrote it.

    minizf mpirun -n 2 train ...        # = mpiexec -n 2 python -m minizf.cli train ... --distributed

``world()`` gives the communicator: MPI's through mpi4py when the program runs
under mpiexec with ``--distributed``, else ``Single`` (one rank, nothing sent).
comm.py holds the communicators, gpu.py how GPU gradients travel (NCCL, a
CUDA-aware MPI or the host), launch.py the ``mpirun`` launcher. This package
looks down only (backend); train.py and the commands use it.
"""
from .comm import MPIWorld, Single, agree, gather_shards, refuse_together, shard_bounds, world

__all__ = ["MPIWorld", "Single", "agree", "gather_shards", "refuse_together", "shard_bounds", "world"]
