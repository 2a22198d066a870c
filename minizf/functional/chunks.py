"""Working on a batch a few images at a time.

Two reasons: memory (im2col's column buffer grows with the batch, so
convolutions build it chunk by chunk) and speed on a CPU (several passes over a
chunk that fits the processor's cache are much faster than the same passes
over a whole batch in main memory). On a GPU only the memory bound matters.
"""
import numpy as np

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


def over_batch_chunks(fn, *arrays, limit=None):
    """fn applied to a few images at a time and the results put together: the same as
    ``fn(*arrays)`` for any fn that treats each image on its own (fn returns an array or a tuple)."""
    xp = get_array_module(arrays[0])
    if xp is not np and limit is None:
        return fn(*arrays)                  # a GPU has no use for cache-sized pieces
    n = arrays[0].shape[0]
    per_image = sum(a[:1].nbytes for a in arrays)
    outs, single = None, False
    for sl in batch_chunks(n, per_image, CACHE_CHUNK_BYTES if limit is None else limit):
        result = fn(*(a[sl] for a in arrays))
        single = not isinstance(result, tuple)
        parts = (result,) if single else result
        if outs is None:
            outs = [xp.empty((n,) + tuple(p.shape[1:]), dtype=p.dtype) for p in parts]
        for out, part in zip(outs, parts):
            out[sl] = part
    if outs is None:                       # an empty batch
        return fn(*arrays)
    return outs[0] if single else tuple(outs)


def batch_chunks(n, bytes_per_item, limit=None):
    """Slices that split a batch of n so each chunk's buffer stays under ``limit`` bytes."""
    limit = COL_BUFFER_BYTES if limit is None else limit
    step = max(1, int(limit // max(bytes_per_item, 1)))
    return [slice(start, min(start + step, n)) for start in range(0, n, step)]
