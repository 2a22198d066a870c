"""Data-parallel training over MPI: the allreduced gradient of K shards is the whole batch's, two ranks
train as one process does, only rank 0 writes, and a run resumes with another number of ranks.

The shard arithmetic is checked in-process; the rest runs ``mpiexec -n 2`` and skips without mpi4py
and an MPI (``pip install 'minizf[mpi]'``, which CI installs)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minizf import SoftmaxCrossEntropy, models
from minizf.distributed import shard_bounds
from minizf.train import init_weights

from .test_data import make_cifar
from .test_train import TINY

ROOT = Path(__file__).resolve().parent.parent


def mpiexec():
    """The mpiexec beside this Python (MPICH's wheel puts it there), else on PATH, else skip."""
    pytest.importorskip("mpi4py")
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if not found:
        pytest.skip("no mpiexec (pip install 'minizf[mpi]')")
    return found


# What MPICH 5's mpiexec printed here when rank 1 (process 29501) was killed: a banner on its stdout.
MPICH_DEATH = """
===================================================================================
=   BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES
=   PID 29501 RUNNING AT vm
=   EXIT CODE: 9
=   CLEANING UP REMAINING PROCESSES
=   YOU CAN IGNORE THE BELOW CLEANUP MESSAGES
===================================================================================
YOUR APPLICATION TERMINATED WITH THE EXIT STRING: Killed (signal 9)
This typically refers to a problem with your application.
Please see the FAQ page for debugging suggestions
"""


def test_mpich_notices_become_one_line_naming_the_rank():
    from minizf.distributed.launch import Notices
    notices, printed = Notices(), []
    for line in ["epoch 1 loss 2.3\n", "\n", "epoch 2 loss 2.2\n"] + MPICH_DEATH.splitlines(keepends=True):
        printed += notices.feed(line)
    assert printed == ["epoch 1 loss 2.3\n", "\n", "epoch 2 loss 2.2\n"]      # the program's blank line stays
    assert notices.death({29500: 0, 29501: 1}) == \
        "rank 1 (process 29501 on vm) died: Killed (signal 9); mpiexec stopped the other ranks"
    assert notices.death({}).startswith("a rank (process 29501 on vm) died")
    aborted = Notices()             # MPI_Abort after our own line: MPICH's line goes, ours was printed
    assert aborted.feed("Abort(2) on node 1 (rank 1 in comm 0): application called MPI_Abort(MPI_COMM_WORLD, 2)"
                        " - process 1\n") == []
    assert aborted.death({}) is None
    errors = Notices()              # every rank meets the same user error: it is said once
    line = "minizf topk: error: /nonexistent.npz: no such file\n"
    assert errors.feed(line) == [line] and errors.feed(line) == []
    assert errors.feed("minizf topk: error: another one\n") == ["minizf topk: error: another one\n"]


def test_gradients_travel_by_nccl_then_cuda_aware_mpi_then_the_host():
    from minizf.distributed.gpu import CUDA_AWARE, HOST, NCCL, choose_transport
    assert choose_transport(False, True, True, True) == HOST            # NumPy gradients: MPI on host memory
    assert choose_transport(True, True, True, True) == NCCL
    assert choose_transport(True, True, False, True) == CUDA_AWARE      # two ranks share a GPU: no NCCL
    assert choose_transport(True, False, True, True) == CUDA_AWARE
    assert choose_transport(True, False, True, False) == HOST


def test_the_mpich_wheel_says_it_cannot_read_gpu_memory():
    from minizf.distributed.gpu import mpi_reads_gpu_memory
    MPI = pytest.importorskip("mpi4py.MPI")
    assert mpi_reads_gpu_memory(MPI) is False       # the wheel is built without CUDA; the query exists

    class Elsewhere:
        __file__ = "/nonexistent/libmpi.so"
    assert mpi_reads_gpu_memory(Elsewhere) is False


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def test_two_ranks_sum_arrays_of_two_dtypes_where_they_live(device):
    launcher = mpiexec()
    done = subprocess.run([launcher, "-n", "2", sys.executable, "-m", "tests.distributed_allreduce", device],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "MPI, 2 ranks" in done.stdout and "gradients: " in done.stdout
    if device == "cpu":
        assert "gradients: host" in done.stdout


def test_shards_cover_the_batch_in_order():
    for batch, size in [(16, 2), (13, 4), (3, 5), (128, 3)]:
        bounds = [shard_bounds(batch, r, size) for r in range(size)]
        assert bounds[0][0] == 0 and bounds[-1][1] == batch
        assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
        assert max(hi - lo for lo, hi in bounds) - min(hi - lo for lo, hi in bounds) <= 1


def test_the_sum_of_the_shards_gradients_is_the_batch_gradient():
    # each shard's loss is its mean, weighted by its share of the batch; dropout masks are the rows
    # of one global mask, so the summed gradient is the whole batch's to round-off
    rng = np.random.default_rng(0)
    net = models.zf_small(**TINY).astype("float64")
    init_weights(net, "he", 0)
    x, y = rng.standard_normal((10, 3, 32, 32)), rng.integers(0, 10, 10)
    ce, drops = SoftmaxCrossEntropy(), [layer for _, layer in net if type(layer).__name__ == "Dropout"]
    for layer in drops:
        layer.reseed(5)
    ce.forward(net.forward(x, train=True), y)
    net.backward(ce.backward(), input_grad=False)
    whole = {k: g.copy() for k, _, g in net.named_parameters()}
    total = dict.fromkeys(whole, 0.0)
    for rank in range(3):
        lo, hi = shard_bounds(10, rank, 3)
        for layer in drops:
            layer.reseed(5)
            layer.shard = (lo, hi, 10)
        ce.forward(net.forward(x[lo:hi], train=True), y[lo:hi])
        net.backward(ce.backward((hi - lo) / 10), input_grad=False)
        for k, _, g in net.named_parameters():
            total[k] = total[k] + g
    for k in whole:
        np.testing.assert_allclose(total[k], whole[k], rtol=1e-12, atol=1e-14 * np.abs(whole[k]).max())


def test_two_ranks_take_the_same_twenty_steps_as_one_process(tmp_path):
    run = [sys.executable, str(ROOT / "tests" / "distributed_run.py")]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    launcher = mpiexec()
    subprocess.run(run + [str(tmp_path / "one.npz")], check=True, env=env, timeout=300)
    done = subprocess.run([launcher, "-n", "2"] + run + [str(tmp_path / "two.npz"), "--distributed"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    one, two = np.load(tmp_path / "one.npz"), np.load(tmp_path / "two.npz")
    assert len(one["losses"]) == 20
    np.testing.assert_allclose(two["losses"], one["losses"], rtol=1e-5)
    for key in one.files:
        if key.startswith("w/"):
            np.testing.assert_allclose(two[key], one[key], rtol=1e-5, atol=1e-5 * np.abs(one[key]).max())


@pytest.mark.slow
def test_the_command_trains_twenty_steps_on_two_ranks_as_one_process_does(tmp_path):
    # the check as a user runs it: 48 images, batches of 12, 5 epochs = 20 SGD steps, in
    # float64 (in float32, round-off differences of the summation order grow through the ReLU and
    # max-pool kinks: one process with 1 or 2 threads already differs by 2e-2 after 10 real steps)
    launcher = mpiexec()
    make_cifar(tmp_path / "data" / "cifar-10-batches-py", per_batch=16)
    args = ["train", "--data", str(tmp_path / "data"), "--subset", "48", "--batch-size", "12", "--epochs", "5",
            "--val-subset", "8", "--dtype", "float64", "--quiet"]
    one = subprocess.run([sys.executable, "-m", "minizf.cli", *args, "--out", str(tmp_path / "one")],
                         capture_output=True, text=True, timeout=600)
    two = subprocess.run([launcher, "-n", "2", sys.executable, "-m", "minizf.cli", *args, "--out",
                          str(tmp_path / "two"), "--distributed"], capture_output=True, text=True, timeout=600)
    assert one.returncode == 0 and two.returncode == 0, (one.stderr[-1000:], two.stderr[-1000:])
    runs = [[json.loads(line) for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
            for run in ("one", "two")]
    losses = np.array([[row["train_loss"] for row in run] for run in runs])
    assert losses.shape == (2, 5) and np.allclose(losses[0], losses[1], rtol=1e-5, atol=0), losses
    first, second = (np.load(tmp_path / run / "checkpoint.npz") for run in ("one", "two"))
    weights = [key for key in first.files if key.startswith("param/")]
    assert first["param/conv1.W"].dtype == np.float64 and len(weights) > 10
    gaps = [np.linalg.norm(first[key] - second[key]) / np.linalg.norm(first[key]) for key in weights]
    assert max(gaps) <= 1e-5, dict(zip(weights, gaps))
    resumed = subprocess.run([sys.executable, "-m", "minizf.cli", "train", "--data", str(tmp_path / "data"),
                              "--epochs", "6", "--quiet", "--resume", "--out", str(tmp_path / "one")],
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-1000:]           # a float64 run goes on in float64
    assert np.load(tmp_path / "one" / "checkpoint.npz")["param/conv1.W"].dtype == np.float64


def test_a_two_rank_run_writes_once_and_resumes_with_one_rank(tmp_path):
    launcher = mpiexec()
    make_cifar(tmp_path / "data" / "cifar-10-batches-py", per_batch=8)
    args = [sys.executable, "-m", "minizf.cli", "train", "--data", str(tmp_path / "data"), "--epochs", "2",
            "--batch-size", "8", "--val-subset", "8", "--quiet", "--out", str(tmp_path / "run")]
    done = subprocess.run([launcher, "-n", "2"] + args + ["--distributed", "--max-batches", "3"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("distributed: MPI, 2 ranks") == 1 and done.stdout.count("paused") == 1
    assert sorted(os.listdir(tmp_path / "run")) == [".minizf-train.lock", "checkpoint.npz", "snapshots"]
    done = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=300)   # one process now
    assert done.returncode == 0, done.stderr[-2000:]
    history = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in history] == [1, 2]


def test_every_rank_gets_the_same_refusal(tmp_path):
    launcher = mpiexec()
    make_cifar(tmp_path / "cifar-10-batches-py", per_batch=8)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.jsonl").write_text("{}\n")          # a run's file: refused without --force
    done = subprocess.run([launcher, "-n", "2", sys.executable, "-m", "minizf.cli", "train", "--distributed",
                           "--out", str(tmp_path / "run"), "--data", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    # rank 0 checked the folder and says so once; the other rank ends with the same status, silently
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "holds files a run would replace" in errors[0], done.stderr
    done = subprocess.run([sys.executable, "-m", "minizf.cli", "mpirun", "-n", "2", "train", "--out",
                           str(tmp_path / "run"), "--data", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [errors[0]]
    for argv, words in [(["topk", "--model", str(tmp_path / "none.npz")], "none.npz: no such file"),   # in each rank
                        (["train", "--epochs", "0"], "--epochs: must be at least 1")]:       # before any rank
        done = subprocess.run([sys.executable, "-m", "minizf.cli", "mpirun", "-n", "2", *argv], capture_output=True,
                              text=True, timeout=120, cwd=tmp_path)
        said = [line for line in done.stderr.splitlines() if ": error:" in line]
        assert done.returncode == 2 and len(said) == 1 and words in said[0], done.stderr


@pytest.mark.slow
def test_two_rank_scans_find_what_one_process_finds(tmp_path):
    launcher = mpiexec()
    topk = [sys.executable, "-m", "minizf.cli", "topk", "--model", str(ROOT / "data" / "zf_small.npz"),
            "--layer", "conv3", "--maps", "3"]
    assert subprocess.run(topk + ["--out", str(tmp_path / "one")], capture_output=True, timeout=300).returncode == 0
    done = subprocess.run([launcher, "-n", "2"] + topk + ["--out", str(tmp_path / "two"), "--distributed"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("wrote") == 1                                 # rank 0 alone reports and writes
    assert (tmp_path / "one" / "top9_conv3.png").read_bytes() == (tmp_path / "two" / "top9_conv3.png").read_bytes()
    explore = [sys.executable, "-m", "minizf.cli", "explore", "--model", str(ROOT / "data" / "zf_small.npz"),
               "--layers", "conv2,relu7", "--images", "60", "--quiet"]
    assert subprocess.run(explore + ["--out", str(tmp_path / "e1")], capture_output=True, timeout=300).returncode == 0
    done = subprocess.run([launcher, "-n", "2"] + explore + ["--out", str(tmp_path / "e2"), "--distributed"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    for page in ("conv2.html", "relu7.html"):
        assert (tmp_path / "e1" / page).read_text() == (tmp_path / "e2" / page).read_text()
    assert (tmp_path / "e1" / "conv2" / "u010_p3.png").read_bytes() == \
        (tmp_path / "e2" / "conv2" / "u010_p3.png").read_bytes()


def _rank_pid(pattern, rank, deadline):
    """The process id of MPI rank ``rank`` among the processes whose command line has ``pattern``
    (MPICH gives each rank PMI_RANK in its environment)."""
    import time
    while time.time() < deadline:
        for pid in subprocess.run(["pgrep", "-f", "--", pattern], capture_output=True, text=True).stdout.split():
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if f"PMI_RANK={rank}".encode() in environ:
                return int(pid)
        time.sleep(0.2)
    raise AssertionError(f"no rank {rank} found")


@pytest.mark.slow
def test_killing_one_rank_ends_the_run_in_one_line_and_leaves_a_resumable_checkpoint(tmp_path):
    import signal
    import time
    mpiexec()
    make_cifar(tmp_path / "data" / "cifar-10-batches-py", per_batch=32)
    args = ["train", "--data", str(tmp_path / "data"), "--epochs", "50", "--batch-size", "16", "--val-subset", "8",
            "--quiet", "--out", str(tmp_path / "run")]
    run = subprocess.Popen([sys.executable, "-m", "minizf.cli", "mpirun", "-n", "2"] + args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (tmp_path / "run" / "checkpoint.npz").exists() and time.time() < deadline:
        time.sleep(0.5)
    victim = _rank_pid(f"--out {tmp_path / 'run'}", 1, deadline)
    os.kill(victim, signal.SIGKILL)
    out, err = run.communicate(timeout=60)                 # the other rank does not hang in the allreduce
    assert run.returncode != 0
    assert err.splitlines() == [f"minizf mpirun: rank 1 (process {victim} on {os.uname().nodename}) died: "
                                "Killed (signal 9); mpiexec stopped the other ranks; run the same command with "
                                "--resume to go on from the last checkpoint"], err
    assert "BAD TERMINATION" not in out and "epoch 1" in out
    done = subprocess.run([sys.executable, "-m", "minizf.cli"] + args + ["--resume", "--max-batches", "1"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "paused" in done.stdout, done.stderr[-2000:]


@pytest.mark.slow
def test_transfer_extracts_its_features_over_two_ranks(tmp_path):
    from PIL import Image
    launcher = mpiexec()
    rng = np.random.default_rng(0)
    for c, color in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        (tmp_path / "images" / f"class{c}").mkdir(parents=True)
        for i in range(8):
            pixels = (rng.random((40, 48, 3)) * 60 + np.array(color) * 0.7).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "images" / f"class{c}" / f"{i}.png")
    args = [sys.executable, "-m", "minizf.cli", "transfer", "--images", str(tmp_path / "images"), "--per-class", "2,4",
            "--folds", "2", "--test-per-class", "3", "--scratch-epochs", "0", "--quiet"]
    assert subprocess.run(args + ["--out", str(tmp_path / "one")], capture_output=True, timeout=300).returncode == 0
    done = subprocess.run([launcher, "-n", "2"] + args + ["--out", str(tmp_path / "two"), "--distributed"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("transfer:") == 1
    one, two = (json.loads((tmp_path / d / "transfer.json").read_text())["rows"] for d in ("one", "two"))
    for a, b in zip(one, two):
        for key in a["pretrained"]:
            assert a["pretrained"][key]["folds"] == pytest.approx(b["pretrained"][key]["folds"], abs=1e-9)


# ---- failures that must end the whole job within seconds, never hang it ------------------------------

def _train_args(tmp_path, *more):
    return [sys.executable, "-m", "minizf.cli", "train", "--data", str(tmp_path / "data"), "--batch-size", "8",
            "--val-subset", "8", "--quiet", "--out", str(tmp_path / "run"), "--distributed", *more]


def _ours(marker):
    """Live processes whose command line holds ``marker`` (a path of this test's own tmp_path)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            words = Path(f"/proc/{pid}/cmdline").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in words and state not in "ZX":
            found.append(int(pid))
    return found


def _gone(marker, seconds):
    import time
    deadline = time.time() + seconds
    while _ours(marker) and time.time() < deadline:
        time.sleep(0.2)
    return not _ours(marker)


def test_a_rank_that_fails_alone_ends_every_rank_naming_itself(tmp_path):
    # rank 1's data folder does not exist: it fails after joining MPI, where rank 0 waits for it
    launcher = mpiexec()
    make_cifar(tmp_path / "data" / "cifar-10-batches-py", per_batch=8)
    args = [a for a in _train_args(tmp_path, "--epochs", "1") if a not in ("--data", str(tmp_path / "data"))]
    done = subprocess.run([launcher, "-n", "1", *args, ":", "-n", "1", "-env", "MINIZF_DATA", str(tmp_path / "nowhere"),
                           *args], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, MINIZF_DATA=str(tmp_path / "data")))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    said = [line for line in done.stderr.splitlines() if ": error:" in line]
    assert len(said) == 1 and "rank 1 of 2: " in said[0] and "nowhere" in said[0], done.stderr


@pytest.mark.parametrize("flag, one, other", [("--epochs", "1", "2"), ("--subset", "16", "8"),
                                              ("--drop", "3", "4")])
def test_ranks_started_with_other_arguments_are_refused_together(flag, one, other, tmp_path):
    launcher = mpiexec()
    make_cifar(tmp_path / "data" / "cifar-10-batches-py", per_batch=8)
    done = subprocess.run([launcher, "-n", "1", *_train_args(tmp_path, flag, one), ":", "-n", "1",
                           *_train_args(tmp_path, flag, other)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr[-2000:]
    said = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(said) == 1 and "rank 1 of 2 has other arguments than rank 0" in said[0], done.stderr
    assert f"{flag} {other}" in said[0] and f"{flag} {one}" in said[0]
    assert not (tmp_path / "run" / "checkpoint.npz").exists()


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_killing_minizf_mpirun_ends_the_whole_job(sig, tmp_path):
    import signal
    import time
    mpiexec()
    make_cifar(tmp_path / "data" / "cifar-10-batches-py", per_batch=32)
    train = [a for a in _train_args(tmp_path, "--epochs", "500")[3:] if a != "--distributed"]
    run = subprocess.Popen([sys.executable, "-m", "minizf.cli", "mpirun", "-n", "2", *train], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (tmp_path / "run" / "checkpoint.npz").exists() and time.time() < deadline:
        time.sleep(0.3)
    assert run.poll() is None, run.communicate()
    marker = str(tmp_path / "run")
    assert len(_ours(marker)) >= 3                           # the launcher, mpiexec and its ranks
    run.send_signal(getattr(signal, sig))
    out, err = run.communicate(timeout=60)
    assert _gone(marker, 30), [Path(f"/proc/{p}/cmdline").read_bytes()[:200] for p in _ours(marker)]
    if sig == "SIGTERM":                                     # the ranks stopped at a batch and kept it
        assert run.returncode == 130 and "interrupted: checkpoint saved" in out, (out[-500:], err[-1000:])


def test_more_ranks_than_items_leave_the_spare_ranks_out():
    # a scan of 2 images over 4 ranks: ranks 2 and 3 compute nothing and send nothing
    from minizf.distributed import gather_shards

    class Rank:
        """Rank r of 4, the ranks run one after another: a gather returns what each rank sent in that
        same call (a rank not yet run: this rank's own value)."""
        sent = {}

        def __init__(self, rank):
            self.rank, self.size, self.call = rank, 4, 0

        def gather(self, value):
            this_call = Rank.sent.setdefault(self.call, {})
            self.call += 1
            this_call[self.rank] = value
            return [this_call.get(r, value) for r in range(self.size)]
    calls = []

    def compute(lo, hi):
        calls.append((lo, hi))
        return [f"image {i}" for i in range(lo, hi)]
    results = [gather_shards(Rank(r), 2, compute) for r in range(4)]
    assert calls == [(0, 1), (1, 2)]
    assert results[-1] == [(["image 0"], 0), (["image 1"], 1)]


def test_ranks_that_read_other_data_are_refused_together(tmp_path):
    launcher = mpiexec()
    make_cifar(tmp_path / "data" / "cifar-10-batches-py", per_batch=8)
    make_cifar(tmp_path / "other" / "cifar-10-batches-py", per_batch=4)
    args = [a for a in _train_args(tmp_path, "--epochs", "1") if a not in ("--data", str(tmp_path / "data"))]
    done = subprocess.run([launcher, "-n", "1", *args, ":", "-n", "1", "-env", "MINIZF_DATA", str(tmp_path / "other"),
                           *args], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, MINIZF_DATA=str(tmp_path / "data")))
    said = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(said) == 1 and "rank 1 of 2 has other data than rank 0" in said[0], \
        done.stderr
