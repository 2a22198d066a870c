"""Run by tests/test_distributed.py under ``mpiexec -n K``: every rank sums gradient-like arrays of
two dtypes on --device cpu or cuda with the communicator's chosen transport, checks the result
against the sum it knows each rank sent, and rank 0 prints the transport."""
import sys

import numpy as np

from minizf.backend import to_device, to_numpy
from minizf.distributed import world


def main(device):
    comm = world(True, device)
    shapes = [(4, 3, 5, 5), (4,), (7, 11)]
    mine = [to_device(np.full(shape, comm.rank + 1.5, dtype), device)
            for shape, dtype in zip(shapes, ("float32", "float32", "float64"))]
    comm.allreduce_sum(mine)
    expected = sum(r + 1.5 for r in range(comm.size))
    for a in mine:
        assert to_numpy(a).dtype in (np.float32, np.float64) and np.all(to_numpy(a) == expected), to_numpy(a)
        assert (type(a).__module__.startswith("cupy")) == (device == "cuda")   # stayed where it was
    if comm.rank == 0:
        print(comm.name)


if __name__ == "__main__":
    main(sys.argv[1])
