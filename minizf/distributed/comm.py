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
from .gpu import (CUDA_AWARE, HOST, NCCL, CudaAwareSum, NcclSum, choose_transport, mpi_reads_gpu_memory,
                  nccl_module, use_local_gpu)
from .launch import leave_pid


def shard_bounds(batch, rank, size):
    """[lo, hi) of a batch of ``batch`` rows that rank ``rank`` of ``size`` takes: contiguous, the
    first ``batch % size`` ranks one row more; a rank may get none when batch < size."""
    base, extra = divmod(batch, size)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


def gather_shards(comm, count, compute, what="items"):
    """Split ``count`` items over the ranks: this rank runs compute(lo, hi) on its share, and every
    rank gets [(result, lo)] of the ranks that had items, in rank order (which is item order).
    Every rank must see the same count (the same images): else all refuse together."""
    agree(comm, what, count)
    lo, hi = shard_bounds(count, comm.rank, comm.size)
    mine = compute(lo, hi) if hi > lo else None
    return [(result, start) for result, start in comm.gather((mine, lo)) if result is not None]


def refuse_together(comm, problem):
    """Every rank takes rank 0's verdict ``problem`` (None: go on). Rank 0 says it, as the ValueError
    every command turns into one line; the others end with the same status, silently: one line, not K."""
    _end_together(comm, comm.broadcast(problem))


def _end_together(comm, problem):
    """Every rank holds the same ``problem`` (None: go on): rank 0 says it, every rank ends with status 2."""
    if problem is None:
        return
    comm.ending_together = True             # no rank is left waiting: no MPI_Abort needed
    if comm.rank == 0:
        raise ValueError(problem)
    raise SystemExit(2)


def agree(comm, what, value):
    """Every rank must hold the same ``value`` (the command's arguments, the number of images): ranks
    that differ would wait for each other forever in a collective. Refused together, naming the first
    rank that differs from rank 0, before any work."""
    values = comm.gather(value)
    differs = next((r for r, v in enumerate(values) if v != values[0]), None)
    if differs is not None:
        theirs, ours = _where_they_differ(values[differs], values[0])
        _end_together(comm, f"rank {differs} of {comm.size} has other {what} than rank 0 ({theirs} against "
                            f"{ours}): every rank must run the same command on the same data")


def _where_they_differ(a, b, width=80):
    """The first differing words of two argument lists (a flag and its value), or the two values."""
    if isinstance(a, list) and isinstance(b, list):
        i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        start = i - 1 if i > 0 and a[i - 1].startswith("-") else i
        a, b = " ".join(a[start:i + 1]) or "nothing more", " ".join(b[start:i + 1]) or "nothing more"
    return tuple(str(v) if len(str(v)) <= width else str(v)[:width] + "..." for v in (a, b))


class Single:
    """One process: every collective is the identity."""

    rank, size, name = 0, 1, "one process"
    ending_together = False

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
    """MPI_COMM_WORLD through mpi4py. Gradients are summed as one flat buffer: NumPy ones with the
    buffer ``Allreduce``; CuPy ones by NCCL, a CUDA-aware MPI or through the host (gpu.py)."""

    def __init__(self, device="cpu"):
        try:
            from mpi4py import MPI
        except ImportError:
            raise ValueError("--distributed needs mpi4py and an MPI library: pip install 'minizf[mpi]' "
                             "(mpi4py and MPICH's wheel), then run under mpiexec -n K") from None
        self.MPI, self.comm = MPI, MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.ending_together = False
        global ACTIVE
        ACTIVE = self
        leave_pid(self.rank)            # under minizf mpirun: so a death can be said by rank
        agree(self, "arguments", list(sys.argv[1:]))      # before anything else is sent
        self.transport, self._gpu_sum = HOST, None
        gpus = self._take_gpu() if device == "cuda" else ""
        library = MPI.Get_library_version().splitlines()[0].strip()
        self.name = f"MPI, {self.size} ranks ({library}); gradients: {self.transport}{gpus}"

    def _take_gpu(self):
        """Spread the node's ranks over its GPUs and choose how gradients travel; every rank agrees
        (a flag holds only when it holds on all). Returns a note on the GPUs for the printed name."""
        import cupy
        MPI = self.MPI
        node = self.comm.Split_type(MPI.COMM_TYPE_SHARED)
        gpus = cupy.cuda.runtime.getDeviceCount()
        use_local_gpu(node.Get_rank(), gpus)

        def everywhere(flag):
            return bool(self.comm.allreduce(int(flag), op=MPI.MIN))
        self.transport = choose_transport(True, everywhere(nccl_module() is not None),
                                          everywhere(node.Get_size() <= gpus),
                                          everywhere(mpi_reads_gpu_memory(MPI)))
        if self.transport == NCCL:
            self._gpu_sum = NcclSum(self.comm, self.rank, self.size)
        elif self.transport == CUDA_AWARE:
            self._gpu_sum = CudaAwareSum(MPI, self.comm)
        return f" ({node.Get_size()} ranks on {gpus} GPUs here)"

    def allreduce_sum(self, arrays):
        """Sum each array over the ranks, in place (one flat buffer: one message)."""
        if not arrays:
            return arrays
        xp = get_array_module(*arrays)
        flat = xp.concatenate([a.ravel() for a in arrays])
        if xp is not np and self._gpu_sum is not None:
            total = self._gpu_sum(flat)                 # stays on the GPU
        else:
            host = to_numpy(flat)
            total = np.empty_like(host)
            self.comm.Allreduce(host, total, op=self.MPI.SUM)
            total = to_device(total, "cuda") if xp is not np else total
        start = 0
        for a in arrays:
            a[...] = total[start:start + a.size].reshape(a.shape).astype(a.dtype, copy=False)
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


#: The MPI world this process joined, if any: a rank that fails alone must stop the others (abort_others).
ACTIVE = None


def abort_others(status):
    """Called as a rank ends on an error of its own: under MPI with other ranks that may be waiting for it
    in a collective, MPI_Abort ends them all (mpiexec stops every rank); else nothing."""
    if ACTIVE is not None and ACTIVE.size > 1 and not ACTIVE.ending_together:
        sys.stderr.flush()
        ACTIVE.comm.Abort(status)


def world(distributed=False, device="cpu"):
    """MPIWorld when ``distributed`` (mpi4py must be installed), else Single. On ``device`` "cuda"
    each rank takes a GPU of its node and the gradients' transport is chosen (gpu.py)."""
    return MPIWorld(device) if distributed else Single()
