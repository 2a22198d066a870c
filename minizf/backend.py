"""Where arrays live: NumPy on the CPU, CuPy on a CUDA GPU.

Every array function in minizf asks ``get_array_module(x)`` for the module of
its input and calls that (``xp.zeros``, ``xp.matmul``, ...), so one code path
serves both devices (the idea of DeZero's ``get_array_module``). CuPy is
optional: importing minizf never needs it, and only asking for ``"cuda"``
without it is an error.
"""
import os

import numpy as np

try:  # CuPy is an optional extra: pip install "minizf[cuda12]"
    import cupy as _cupy
    import cupyx as _cupyx
except ImportError:  # pragma: no cover - depends on the machine
    _cupy = None
    _cupyx = None

DEVICES = ("cpu", "cuda")


def cuda_available():
    """True when CuPy is installed and sees at least one CUDA device."""
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # CuPy installed but no driver / no GPU
        return False


def get_array_module(*arrays):
    """The array module (numpy or cupy) of the given arrays: cupy if any is a cupy array."""
    if _cupy is not None:
        for a in arrays:
            if isinstance(a, _cupy.ndarray):
                return _cupy
    return np


def get_device(device=None):
    """Resolve a device name: the argument, else ``$MINIZF_DEVICE``, else ``"cpu"``.

    Raises ValueError for an unknown name and RuntimeError for ``"cuda"``
    when CuPy or a GPU is missing.
    """
    name = device if device is not None else os.environ.get("MINIZF_DEVICE", "cpu")
    name = str(name).lower()
    if name not in DEVICES:
        raise ValueError(f"unknown device {name!r}: expected one of {DEVICES}")
    if name == "cuda" and not cuda_available():
        raise RuntimeError(
            "device 'cuda' was asked for, but CuPy with a CUDA GPU is not available; "
            "install the extra (pip install 'minizf[cuda12]' or 'minizf[cuda13]') "
            "on a machine with an NVIDIA GPU, or use device='cpu'")
    return name


def device_of(x):
    """``"cuda"`` for a CuPy array, ``"cpu"`` for anything else."""
    return "cuda" if get_array_module(x) is not np else "cpu"


def device_of_net(net, device=None):
    """``device`` if given, else where the network's parameters live ("cpu" for one without any):
    the analyses move their inputs to the network, so a model moved to the GPU runs there."""
    if device is not None:
        return get_device(device)
    for _, p, _ in net.named_parameters():
        return device_of(p)
    return "cpu"


def array_module(device=None):
    """The array module for a device name (see ``get_device``)."""
    return _cupy if get_device(device) == "cuda" else np


def to_numpy(x):
    """A NumPy copy (or the same array) of x, wherever x lives."""
    if get_array_module(x) is not np:
        return x.get()
    return np.asarray(x)


def to_device(x, device=None):
    """x moved to ``device`` ("cpu" or "cuda"); a no-op when it is already there."""
    if get_device(device) == "cuda":
        return _cupy.asarray(x)
    return to_numpy(x)


_seed = 0


def seed(value):
    """Set the seed that ``default_rng`` hands out generators from (reproducible runs)."""
    global _seed, _default
    _seed = int(value)
    _default = {}


_default = {}


def default_rng(device="cpu"):
    """minizf's shared random generator for a device, seeded by ``seed`` (default 0)."""
    name = get_device(device)
    if name not in _default:
        _default[name] = make_rng(_seed, name)
    return _default[name]


def make_rng(seed_value=None, device="cpu"):
    """A fresh random Generator on ``device`` (numpy's or cupy's ``default_rng``)."""
    return array_module(device).random.default_rng(seed_value)


def scatter_add(target, indices, values):
    """target[indices] += values, adding repeated indices (in place; returns target).

    Plain fancy-index ``a[i] += v`` keeps only one of the repeated indices;
    ``np.add.at`` / ``cupyx.scatter_add`` add them all, which unpooling through
    overlapping windows needs.
    """
    if get_array_module(target) is np:
        np.add.at(target, indices, values)
    else:
        _cupyx.scatter_add(target, indices, values)
    return target
