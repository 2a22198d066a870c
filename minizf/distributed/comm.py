"""Communicators: one process (``Single``) or MPI's world (``MPIWorld``, mpi4py's buffer calls).

Both answer the same few calls the trainer and the scans make: ``allreduce_sum``
of a list of gradient arrays (in place), ``sum`` of Python numbers, ``broadcast``
of a picklable object from rank 0 (a decision only rank 0 can make, such as
whether the output folder may be used), ``gather`` of each rank's results (the
scans' per-rank top-9s), and ``abort`` (one rank failed: stop them all rather
than leave them waiting in an allreduce).
"""
import sys

import numpy as np

from ..backend import get_array_module, to_device, to_numpy


def shard_bounds(batch, rank, size):
    """[lo, hi) of a batch of ``batch`` rows that rank ``rank`` of ``size`` takes: contiguous, the
    first ``batch % size`` ranks one row more; a rank may get none when batch < size."""
    base, extra = divmod(batch, size)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


def gather_shards(comm, count, compute):
    """Split ``count`` items over the ranks: this rank runs compute(lo, hi) on its share, and every
    rank gets [(result, lo)] of the ranks that had items, in rank order (which is item order)."""
    lo, hi = shard_bounds(count, comm.rank, comm.size)
    mine = compute(lo, hi) if hi > lo else None
    return [(result, start) for result, start in comm.gather((mine, lo)) if result is not None]


class Single:
    """One process: every collective is the identity."""

    rank, size, name = 0, 1, "one process"

    def allreduce_sum(self, arrays):
        return arrays

    def sum(self, value):
        return value

    def broadcast(self, value):
        return value

    def gather(self, value):
        return [value]

    def abort(self, message, status=1):
        raise SystemExit(status)


class MPIWorld:
    """MPI_COMM_WORLD through mpi4py. Gradients are summed with the buffer ``Allreduce`` on NumPy
    arrays; CuPy arrays go through the host (a CUDA-aware MPI or NCCL would keep them on the GPU)."""

    def __init__(self):
        try:
            from mpi4py import MPI
        except ImportError:
            raise ValueError("--distributed needs mpi4py and an MPI library: pip install 'minizf[mpi]' "
                             "(mpi4py and MPICH's wheel), then run under mpiexec -n K") from None
        self.MPI, self.comm = MPI, MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        library = MPI.Get_library_version().splitlines()[0].strip()
        self.name = f"MPI, {self.size} ranks ({library})"

    def allreduce_sum(self, arrays):
        """Sum each array over the ranks, in place (one Allreduce of one flat buffer: one message)."""
        if not arrays:
            return arrays
        host = np.concatenate([to_numpy(a).ravel() for a in arrays])
        total = np.empty_like(host)
        self.comm.Allreduce(host, total, op=self.MPI.SUM)
        start = 0
        for a in arrays:
            part = total[start:start + a.size].reshape(a.shape).astype(a.dtype)
            a[...] = to_device(part, "cuda" if get_array_module(a) is not np else "cpu")
            start += a.size
        return arrays

    def sum(self, value):
        return self.comm.allreduce(value, op=self.MPI.SUM)

    def broadcast(self, value):
        return self.comm.bcast(value, root=0)

    def gather(self, value):
        """Every rank's ``value``, in rank order, on every rank (pickled: for results, not gradients)."""
        return self.comm.allgather(value)

    def abort(self, message, status=1):
        """Print one line and stop every rank (MPI_Abort): the others may be waiting in a collective."""
        print(f"minizf (rank {self.rank} of {self.size}): {message}", file=sys.stderr, flush=True)
        self.comm.Abort(status)


def world(distributed=False):
    """MPIWorld when ``distributed`` (mpi4py must be installed), else Single."""
    return MPIWorld() if distributed else Single()
