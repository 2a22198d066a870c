"""Shared helpers of the benchmark scripts: timing, the machine's matmul ceiling, tables, JSON.

Benchmarks are plain scripts, not tests: run ``python benchmarks/ops.py`` or
``python benchmarks/networks.py``. minizf and PyTorch run on the same shapes
in the same process, so their ratio is measured under the same conditions.
"""
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from minizf.backend import get_device, to_device  # noqa: E402

try:
    import torch
except ImportError:  # the PyTorch columns are then left out
    torch = None


def parse_device():
    """--device cpu|cuda (default $MINIZF_DEVICE or cpu)."""
    device = None
    if "--device" in sys.argv:
        device = sys.argv[sys.argv.index("--device") + 1]
    return get_device(device)


def synchronize(device):
    if device == "cuda":
        import cupy
        cupy.cuda.Device().synchronize()
        if torch is not None:
            torch.cuda.synchronize()


def median_times(fns, device="cpu", repeat=5, warmup=1):
    """Median wall time (seconds) of each fn in fns, a None fn giving None.

    The functions take turns (a, b, a, b, ...), so that a machine whose speed
    drifts during the run (shared CPUs, clock changes) slows all of them alike
    and their ratio stays fair. Each timed call follows an untimed call of the
    same function: the thread pools of the other framework (OpenBLAS, OpenMP)
    busy-wait for a while after their work, and would otherwise steal the
    cores at the start of the timed call.
    """
    live = [fn for fn in fns if fn is not None]
    for _ in range(warmup):
        for fn in live:
            fn()
    times = {id(fn): [] for fn in live}
    for _ in range(repeat):
        for fn in live:
            fn()
            synchronize(device)
            start = time.perf_counter()
            fn()
            synchronize(device)
            times[id(fn)].append(time.perf_counter() - start)
    return [None if fn is None else statistics.median(times[id(fn)]) for fn in fns]


def median_time(fn, device="cpu", repeat=5, warmup=1):
    """Median wall time of fn() in seconds, after warm-up runs."""
    return median_times([fn], device, repeat, warmup)[0]


def sgemm_gflops(device="cpu", n=2048):
    """The practical ceiling: float32 matrix product speed of this machine (GFLOP/s)."""
    a = to_device(np.random.default_rng(0).random((n, n), dtype=np.float32), device)
    t = median_time(lambda: a @ a, device, repeat=5)
    return 2 * n ** 3 / t / 1e9


def torch_setup(device):
    if torch is None:
        return None
    if device == "cpu":
        torch.set_num_threads(os.cpu_count())
        return torch.device("cpu")
    return torch.device("cuda")


def blas_info():
    try:
        from threadpoolctl import threadpool_info
        return [{k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                for i in threadpool_info()]
    except ImportError:
        return os.environ.get("OPENBLAS_CORETYPE", "threadpoolctl not installed")


def report(title, rows, path, device):
    """Print a table of rows (dicts with name, minizf_ms, torch_ms, gflop) and write JSON."""
    print(f"\n{title} ({device}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')})")
    print(f"{'benchmark':<44}{'minizf ms':>11}{'torch ms':>10}{'ratio':>8}{'GFLOP/s':>9}")
    for r in rows:
        t = f"{r['torch_ms']:10.2f}" if r.get("torch_ms") else f"{'-':>10}"
        ratio = f"{r['minizf_ms'] / r['torch_ms']:8.2f}" if r.get("torch_ms") else f"{'-':>8}"
        gflops = f"{r['gflop'] / (r['minizf_ms'] / 1e3):9.1f}" if r.get("gflop") else f"{'-':>9}"
        print(f"{r['name']:<44}{r['minizf_ms']:11.2f}{t}{ratio}{gflops}")
    result = {"title": title, "device": device, "machine": platform.processor() or platform.machine(),
              "cpus": os.cpu_count(), "numpy": np.__version__,
              "torch": None if torch is None else torch.__version__,
              "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"), "blas": blas_info(),
              "sgemm_gflops": sgemm_gflops(device), "rows": rows, "time": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(f"float32 matmul ceiling: {result['sgemm_gflops']:.0f} GFLOP/s")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print("wrote", path)
    return result
