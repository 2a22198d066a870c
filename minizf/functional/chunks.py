"""Working on a batch a few images at a time, on every CPU core.

Three reasons:

* memory: im2col's column buffer grows with the batch, so convolutions build
  it chunk by chunk, and memory stays bounded for any batch size;
* cache: several passes over a chunk that fits the processor's cache are much
  faster than the same passes over a whole batch in main memory;
* cores: NumPy runs each call on one core. Images are independent, so every
  core takes its own *share* of the chunks, in a thread: NumPy lets go of
  Python's global lock inside its loops, so the threads really run at once.

Every chunk writes its own slice of the output, so an image's result does not
depend on the split; only sums over the batch (weight gradients) are added in
another order when the thread count changes. On a GPU only the memory bound
matters, and everything runs as one share.
"""
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

try:  # a dependency; without it minizf still works, only slower (see _one_blas_thread)
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover - depends on the installation
    ThreadpoolController = None

from ..backend import get_array_module

#: Largest im2col buffer (bytes) built at once; convolutions chunk the batch above it.
#: About the size of a core's L2 cache: measured fastest on this project's CPUs
#: (see benchmarks/), and it bounds memory for any batch size.
COL_BUFFER_BYTES = 4 * 2**20
#: On a GPU, caches are not the point and every chunk costs kernel launches:
#: chunks there are only a bound on memory.
GPU_BUFFER_BYTES = 512 * 2**20
#: Element-wise work on a few images at a time: several passes over a chunk this
#: size stay in the processor's cache (pooling and LRN run ~2x faster this way).
CACHE_CHUNK_BYTES = 2**20

_pool, _pool_size = None, 0
_inside = threading.local()      # .busy is set while a thread works on a share
_blas = None                     # threadpoolctl's handle on the BLAS library, made on first use


def num_threads():
    """Threads that share a batch: ``$MINIZF_THREADS``, else the usable cores (at most 8)."""
    wanted = os.environ.get("MINIZF_THREADS", "")
    if wanted:
        if not wanted.isdigit():
            raise ValueError(f"MINIZF_THREADS must be a whole number of threads, got {wanted!r}")
        return max(1, int(wanted))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, 8))


def _one_blas_thread():
    """A context in which matrix products run on the calling thread only.

    Every core already works on its own share; BLAS threads on top would fight
    the shares for the cores (OpenBLAS's idle threads even spin for a while
    after each product, which slowed the element-wise work after a GEMM ~1.5x).
    """
    global _blas
    if ThreadpoolController is None:
        return contextlib.nullcontext()
    if _blas is None:
        _blas = ThreadpoolController()
    return _blas.limit(limits=1, user_api="blas")


def _work_on(fn, share):
    _inside.busy = True
    try:
        return fn(share)
    finally:
        _inside.busy = False


def map_shares(fn, items):
    """[fn(share) for each share]: items cut into contiguous shares, one per thread, run at once.

    The calling thread takes the first share. fn may read shared arrays but
    must write only its own slices of an output. A call made inside a share
    runs in place (one share), so threads never wait on each other.
    """
    global _pool, _pool_size
    threads = min(num_threads(), len(items))
    if threads <= 1 or getattr(_inside, "busy", False):
        return [fn(items)]
    # Contiguous shares, so neighbouring chunks (and their memory) stay on one core.
    shares = [items[len(items) * t // threads:len(items) * (t + 1) // threads] for t in range(threads)]
    if _pool_size < threads - 1:
        _pool, _pool_size = ThreadPoolExecutor(threads - 1, "minizf"), threads - 1
    with _one_blas_thread():
        futures = [_pool.submit(_work_on, fn, share) for share in shares[1:]]
        try:
            first = _work_on(fn, shares[0])
        finally:
            wait(futures)          # no share outlives the call, even when one fails
        return [first] + [future.result() for future in futures]   # re-raises a share's error


def _forget_pool():
    """A forked child has none of its parent's threads: it starts a pool of its own."""
    global _pool, _pool_size
    _pool, _pool_size = None, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def add_shares(shares):
    """Element-wise sums over the shares' results: [(a1, b1), (a2, b2), ...] -> (a1 + a2 + ..., b1 + ...)."""
    return tuple(sum(parts[1:], parts[0]) for parts in zip(*shares))


def batch_chunks(n, bytes_per_item, limit=None):
    """Slices that split a batch of n so each chunk's buffer stays under ``limit`` bytes."""
    limit = COL_BUFFER_BYTES if limit is None else limit
    step = max(1, int(limit // max(bytes_per_item, 1)))
    return [slice(start, min(start + step, n)) for start in range(0, n, step)]


def _each(fn, slices):
    """[fn(sl) for sl in slices], the slices shared among the threads."""
    return [result for share in map_shares(lambda share: [fn(sl) for sl in share], slices)
            for result in share]


def over_shares(fn, n, xp=np):
    """[fn(sl)] for one contiguous slice of range(n) per thread (one slice on a GPU)."""
    if xp is not np:
        return [fn(slice(0, n))]
    parts = max(1, min(num_threads(), n))
    return _each(fn, [slice(n * t // parts, n * (t + 1) // parts) for t in range(parts)])


def for_batch_chunks(fn, n, bytes_per_item, xp=np):
    """Call fn(sl) for cache-sized slices sl (``CACHE_CHUNK_BYTES``) that cover range(n), on
    every core. fn writes its results itself, into ``out[sl]`` of an output made beforehand."""
    if xp is not np:
        return fn(slice(0, n))     # a GPU has no use for cache-sized pieces
    _each(fn, batch_chunks(n, bytes_per_item, CACHE_CHUNK_BYTES))


def over_batch_chunks(fn, *arrays):
    """fn applied to a few images at a time, on every core, and the results put together:
    the same as ``fn(*arrays)`` for any fn that treats each image on its own (fn returns
    an array or a tuple)."""
    xp = get_array_module(arrays[0])
    n = arrays[0].shape[0]
    if xp is not np or n == 0:
        return fn(*arrays)
    outs, single, lock = [], [False], threading.Lock()

    def one(sl):
        result = fn(*(a[sl] for a in arrays))
        single[0] = not isinstance(result, tuple)
        parts = (result,) if single[0] else result
        with lock:                 # the first chunk to finish makes the outputs
            if not outs:
                outs.extend(xp.empty((n,) + tuple(p.shape[1:]), dtype=p.dtype) for p in parts)
        for out, part in zip(outs, parts):
            out[sl] = part

    for_batch_chunks(one, n, sum(a[:1].nbytes for a in arrays))
    return outs[0] if single[0] else tuple(outs)
