"""Backend: array modules, devices, and a scatter-add that keeps repeated indices."""
import subprocess
import sys

import numpy as np
import pytest

from minizf import backend


def test_scatter_add_adds_repeated_indices():
    target = np.zeros(4)
    backend.scatter_add(target, np.array([1, 1, 3, 1]), np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(target, [0.0, 7.0, 0.0, 3.0])
    plain = np.zeros(4)
    plain[np.array([1, 1, 3, 1])] += np.array([1.0, 2.0, 3.0, 4.0])
    assert plain[1] != 7.0        # the pitfall scatter_add exists for


def test_numpy_arrays_use_numpy():
    assert backend.get_array_module(np.zeros(2)) is np
    assert backend.device_of(np.zeros(2)) == "cpu"
    assert backend.to_numpy(np.ones(2)).sum() == 2


def test_device_choice(monkeypatch):
    monkeypatch.delenv("MINIZF_DEVICE", raising=False)
    assert backend.get_device() == "cpu"
    monkeypatch.setenv("MINIZF_DEVICE", "CPU")
    assert backend.get_device() == "cpu"
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        backend.get_device("tpu")


@pytest.mark.skipif(backend.cuda_available(), reason="a GPU is present")
def test_cuda_without_cupy_is_a_clear_error():
    with pytest.raises(RuntimeError, match="CuPy with a CUDA GPU is not available"):
        backend.get_device("cuda")


def test_import_works_without_cupy():
    code = ("import sys; sys.modules['cupy'] = None; sys.modules['cupyx'] = None\n"
            "import minizf, numpy as np\n"
            "net = minizf.models.zf_small()\n"
            "print(net.forward(np.zeros((1, 3, 32, 32), dtype='float32')).shape)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(1, 10)"


def test_seeded_generators_repeat():
    a = backend.make_rng(3).random(4)
    b = backend.make_rng(3).random(4)
    np.testing.assert_array_equal(a, b)
    backend.seed(5)
    first = backend.default_rng().random()
    backend.seed(5)
    assert backend.default_rng().random() == first
