"""How the gradients travel between ranks when they live on GPUs.

Three ways, chosen once at start (``choose_transport``) and printed:

- ``nccl``: NVIDIA's collective library through ``cupy.cuda.nccl``, GPU to GPU, as
  ChainerMN and Horovod do. NCCL wants one GPU per rank, so it is chosen only when
  this node has at least as many GPUs as ranks on it.
- ``cuda-aware MPI``: the CuPy buffer handed to MPI itself, when the MPI library
  says it can read GPU memory (``MPIX_Query_cuda_support``, MPICH and Open MPI).
- ``host``: copy to host memory, MPI's Allreduce, copy back. Always works; it is
  the only way for NumPy gradients, and the MPICH wheel's (not built for CUDA).

Every way sums one flat buffer of all gradients: one message per step.
"""
import ctypes

HOST, NCCL, CUDA_AWARE = "host", "nccl", "cuda-aware MPI"


def choose_transport(on_gpu, nccl_available, gpu_per_rank, cuda_aware_mpi):
    """The way the gradients travel: NumPy gradients by host MPI; CuPy ones by NCCL when it is there
    and every rank has a GPU of its own, else by a CUDA-aware MPI, else through host memory. Each
    flag must hold on every rank (the caller agrees on them first)."""
    if not on_gpu:
        return HOST
    if nccl_available and gpu_per_rank:
        return NCCL
    return CUDA_AWARE if cuda_aware_mpi else HOST


def mpi_reads_gpu_memory(MPI):
    """True when the MPI library under mpi4py says it was built for CUDA buffers (an extension MPICH
    and Open MPI both export; mpi4py does not wrap it). False when it cannot say."""
    try:
        query = ctypes.CDLL(MPI.__file__).MPIX_Query_cuda_support
    except (AttributeError, OSError):
        return False
    query.restype = ctypes.c_int
    return bool(query())


def nccl_module():
    """cupy.cuda.nccl when CuPy was built with NCCL, else None."""
    try:
        from cupy.cuda import nccl
    except ImportError:
        return None
    return nccl if getattr(nccl, "available", True) else None


def use_local_gpu(local_rank, gpus):
    """Each rank on a node takes GPU local_rank (modulo the GPUs there): ranks on one node spread
    over its GPUs instead of all landing on GPU 0."""
    import cupy
    cupy.cuda.Device(local_rank % gpus).use()
    return local_rank % gpus


class NcclSum:
    """Sums a flat CuPy buffer over the ranks with NCCL; MPI only carries NCCL's unique id."""

    def __init__(self, mpi_comm, rank, size):
        self.nccl = nccl_module()
        unique_id = mpi_comm.bcast(self.nccl.get_unique_id() if rank == 0 else None, root=0)
        self.comm = self.nccl.NcclCommunicator(size, unique_id, rank)

    def __call__(self, flat):
        import cupy
        kinds = {"float32": self.nccl.NCCL_FLOAT32, "float64": self.nccl.NCCL_FLOAT64}
        stream = cupy.cuda.get_current_stream()
        self.comm.allReduce(flat.data.ptr, flat.data.ptr, flat.size, kinds[flat.dtype.name],
                            self.nccl.NCCL_SUM, stream.ptr)
        stream.synchronize()
        return flat


class CudaAwareSum:
    """Sums a flat CuPy buffer with MPI's Allreduce on the GPU memory itself."""

    def __init__(self, MPI, mpi_comm):
        self.MPI, self.comm = MPI, mpi_comm

    def __call__(self, flat):
        import cupy
        cupy.cuda.get_current_stream().synchronize()      # MPI reads the memory outside CuPy's stream
        self.comm.Allreduce(self.MPI.IN_PLACE, flat, op=self.MPI.SUM)
        return flat
