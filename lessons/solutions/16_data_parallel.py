"""Solutions to the exercises of lesson 16."""


def shard_of(batch, rank, size):
    base, extra = divmod(batch, size)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


def shard_weight(lo, hi, batch):
    return (hi - lo) / batch
