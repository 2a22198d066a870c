"""Every failure a user can cause on the command line: one line naming the culprit, exit status 2,
no traceback; and training that never loses a run or a snapshot."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from minizf import models
from minizf.data import ASSETS
from minizf.train import TrainConfig, Trainer

from .test_data import make_cifar
from .test_train import TINY, tiny_set

CIFAR_MODEL = str(ASSETS / "zf_small.npz")


def minizf(*args, cwd=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "minizf.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def assert_user_error(done, *words):
    """Exit 2, one line on stderr starting 'minizf CMD: error:' (argparse's usage line aside), no traceback."""
    assert done.returncode == 2, (done.returncode, done.stdout[-500:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if ": error:" in line]
    assert len(errors) == 1, done.stderr
    for word in words:
        assert word in errors[0], (word, errors[0])


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cifar")
    make_cifar(folder / "cifar-10-batches-py", per_batch=8)
    return folder


@pytest.mark.parametrize("argv,words", [
    (["train", "--epochs", "0"], ["--epochs", "at least 1"]),
    (["train", "--epochs", "-1"], ["--epochs"]),
    (["train", "--batch-size", "0"], ["--batch-size"]),
    (["train", "--subset", "-1"], ["--subset"]),
    (["train", "--lr-steps", "a,b"], ["--lr-steps", "whole numbers"]),
    (["train", "--crop-pad", "100000", "--data", "/nonexistent"], ["--crop-pad 100000", "at most 32"]),
    (["train", "--renorm-layers", "conv9"], ["--renorm-layers"]),
    (["train", "--conv1-std", "-1"], ["--conv1-std", "> 0"]),
    (["info", "--model", CIFAR_MODEL, "--input-size", "0"], ["--input-size", "at least 1"]),
    (["occlude", "x.jpg", "--size", "0"], ["--size"]),
    (["occlude", "x.jpg", "--stride", "-4"], ["--stride"]),
    (["transfer", "--folds", "0"], ["--folds"]),
    (["transfer", "--per-class", "3,x"], ["--per-class"]),
    (["mpirun", "-n", "0", "train"], ["-n", "1 to 1024"]),
    (["mpirun", "-n", "two", "train"], ["-n", "whole number"]),
    (["mpirun", "-n", "2", "evaluate"], ["COMMAND", "evaluate"]),         # it does not split over ranks
])
def test_out_of_range_numbers_are_refused_by_name(argv, words):
    assert_user_error(minizf(*argv), *words)


def test_unknown_layer_is_one_line_naming_the_layers():
    assert_user_error(minizf("topk", "--model", CIFAR_MODEL, "--layer", "nope", "--out", "/tmp/x"),
                      "no layer named 'nope'", "conv5")
    # An empty name is a mistake too, not a request for the default layer.
    assert_user_error(minizf("topk", "--model", CIFAR_MODEL, "--layer", "", "--out", "/tmp/x"),
                      "no layer named ''", "conv5")


@pytest.mark.parametrize("content", [b"", b"just text", None])
def test_unreadable_images_name_the_file(tmp_path, content):
    path = tmp_path / "photo.jpg"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    assert_user_error(minizf("occlude", path, "--model", CIFAR_MODEL, "--out", tmp_path / "o"), "photo.jpg")


def test_occluder_larger_than_the_image(tmp_path):
    assert_user_error(minizf("occlude", ASSETS / "samples" / "chelsea.jpg", "--model", CIFAR_MODEL, "--size", "100",
                             "--out", tmp_path), "square's side must lie in [1, 32]")


def test_missing_and_corrupt_model_files(tmp_path):
    assert_user_error(minizf("evaluate", tmp_path / "none.npz"), "none.npz")
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 not really")
    assert_user_error(minizf("evaluate", tmp_path / "bad.npz"), "bad.npz")


def test_an_output_that_is_a_file(tmp_path, cifar):
    (tmp_path / "taken").write_text("x")
    assert_user_error(minizf("evaluate", CIFAR_MODEL, "--data", cifar, "--out", tmp_path / "taken" / "cm.png"),
                      "taken")


def test_a_hostile_cifar_folder_is_refused(tmp_path):
    import pickle

    class Payload:
        def __reduce__(self):
            return (os.system, ("touch HACKED",))
    make_cifar(tmp_path / "cifar-10-batches-py", per_batch=2)
    (tmp_path / "cifar-10-batches-py" / "batches.meta").write_bytes(pickle.dumps({b"label_names": Payload()}))
    done = minizf("evaluate", CIFAR_MODEL, "--data", tmp_path, "--out", tmp_path, cwd=tmp_path)
    assert_user_error(done, "batches.meta", "refused")
    assert not (tmp_path / "HACKED").exists()


def test_an_internal_error_shows_its_traceback_and_asks_for_a_report(monkeypatch, capsys):
    from minizf import cli
    parser = cli.build_parser()
    parser._subparsers._group_actions[0].choices["info"].set_defaults(run=lambda args: 1 / 0)  # a bug
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    assert cli.main(["info"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError" in err and "please report it" in err


# ----------------------------------------------------------------------------- training
def test_a_new_run_never_replaces_an_old_one_without_force(tmp_path, cifar):
    out = tmp_path / "run"
    args = ["train", "--data", cifar, "--epochs", "1", "--batch-size", "16", "--quiet", "--out", out,
            "--val-subset", "4"]
    assert minizf(*args).returncode == 0
    before = (out / "checkpoint.npz").read_bytes()
    assert_user_error(minizf(*args), "--out", "holds a run already", "--resume", "--force")
    assert (out / "checkpoint.npz").read_bytes() == before
    assert minizf(*args, "--force", "--seed", "3").returncode == 0
    assert (out / "checkpoint.npz").read_bytes() != before


def test_train_renormalises_every_conv_layer_and_keeps_the_papers_snapshots(tmp_path, cifar):
    from minizf.modelfile import load_model
    out = tmp_path / "run"
    assert minizf("train", "--data", cifar, "--epochs", "3", "--batch-size", "16", "--quiet", "--out", out,
                  "--val-subset", "4").returncode == 0
    config = load_model(out / "checkpoint.npz")[2]["config"]
    assert config["renorm"] == {f"conv{k}": 0.1 for k in range(1, 6)}       # Sec. 3: every conv layer
    assert config["snapshots"] == [1, 2, 3]                                 # Fig. 4's epochs, scaled to 3
    assert sorted(os.listdir(out / "snapshots")) == ["epoch_001.npz", "epoch_002.npz", "epoch_003.npz"]
    assert minizf("train", "--data", cifar, "--epochs", "1", "--batch-size", "16", "--quiet", "--out", out,
                  "--val-subset", "4", "--force", "--renorm-layers", "conv1", "--snapshots", "1").returncode == 0
    config = load_model(out / "checkpoint.npz")[2]["config"]
    assert config["renorm"] == {"conv1": 0.1} and config["snapshots"] == [1]


def test_invariance_refuses_folders_the_model_does_not_know(tmp_path):
    from PIL import Image
    for cls in ("tench", "zebra"):
        (tmp_path / "photos" / cls).mkdir(parents=True)
        Image.new("RGB", (72, 72), (120, 80, 40)).save(tmp_path / "photos" / cls / "a.jpg")
    assert_user_error(minizf("invariance", "--images", tmp_path / "photos", "--out", tmp_path / "o"),
                      "does not know the classes zebra")


def test_force_keeps_what_a_run_did_not_write_and_the_old_run_until_the_new_checkpoint(tmp_path, cifar):
    out = tmp_path / "run"
    args = ["train", "--data", cifar, "--epochs", "1", "--batch-size", "16", "--quiet", "--out", out,
            "--val-subset", "4"]
    assert minizf(*args).returncode == 0
    (out / "snapshots" / "mine").mkdir()                          # the user's things in the run's folders
    (out / "snapshots" / "notes.txt").write_text("keep")
    (out / "readme.txt").write_text("keep too")
    assert minizf(*args, "--force", "--seed", "3").returncode == 0
    assert (out / "snapshots" / "mine").is_dir() and (out / "snapshots" / "notes.txt").read_text() == "keep"
    assert (out / "readme.txt").read_text() == "keep too" and (out / "checkpoint.npz").is_file()
    assert not list(out.glob(".previous-run-*"))                   # the old run went after the new checkpoint


def test_a_users_model_in_out_is_not_overwritten_without_force(tmp_path, cifar):
    out = tmp_path / "run"
    out.mkdir()
    (out / "model.npz").write_bytes(b"the user's model")
    args = ["train", "--data", cifar, "--epochs", "1", "--batch-size", "16", "--quiet", "--out", out,
            "--val-subset", "4"]
    assert_user_error(minizf(*args), "--out", "model.npz", "--force")
    assert (out / "model.npz").read_bytes() == b"the user's model"


def test_a_second_training_on_the_same_out_is_refused_naming_the_first(tmp_path, cifar):
    import fcntl
    out = tmp_path / "run"
    out.mkdir()
    with open(out / ".minizf-train.lock", "a+") as held:          # as a running training holds it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("pid 4242")
        held.flush()
        done = minizf("train", "--data", cifar, "--epochs", "1", "--quiet", "--out", out)
    assert_user_error(done, "--out", "running there already", "pid 4242")
    assert sorted(p.name for p in out.iterdir()) == [".minizf-train.lock"]


def test_resume_refuses_settings_that_differ_and_takes_more_epochs(tmp_path, cifar):
    out = tmp_path / "run"
    base = ["train", "--data", cifar, "--batch-size", "16", "--quiet", "--out", out, "--val-subset", "4"]
    assert minizf(*base, "--epochs", "1").returncode == 0
    assert_user_error(minizf(*base, "--epochs", "2", "--resume", "--seed", "7"), "--seed 0, not 7")
    assert_user_error(minizf(*base[:3], "--batch-size", "32", "--quiet", "--out", out, "--epochs", "2",
                             "--resume"), "--batch-size 16, not 32")
    done = minizf(*base, "--epochs", "2", "--resume")
    assert done.returncode == 0, done.stderr
    assert "resuming with --epochs 2 (the run was set to 1)" in done.stdout
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2


def test_divergence_is_one_line_naming_the_batch_and_the_checkpoint(tmp_path, cifar):
    out = tmp_path / "run"
    done = minizf("train", "--data", cifar, "--epochs", "2", "--batch-size", "8", "--lr", "1e6", "--quiet",
                  "--out", out, "--val-subset", "4", "--renorm", "0")
    assert_user_error(done, "training diverged", "epoch 1, batch")


def trainer(out, epochs=3, **cfg):
    config = TrainConfig(epochs=epochs, batch_size=16, snapshots=(1, 2, 3), **cfg)
    return Trainer(models.zf_small(**TINY), "zf-small", tiny_set(), None, config, out, model_options=TINY,
                   progress=False, log=lambda *a: None)


def test_a_kill_between_snapshot_and_checkpoint_loses_nothing(tmp_path):
    whole = trainer(tmp_path / "whole")
    whole.run()
    cut = trainer(tmp_path / "cut")
    real_save = cut.save_checkpoint

    def killed_after_the_epoch_2_snapshot():
        if cut.state["epoch"] == 2 and cut.state["batch"] == 0:
            raise SystemExit("kill -9")              # the process dies right before the commit
        real_save()
    cut.save_checkpoint = killed_after_the_epoch_2_snapshot
    with pytest.raises(SystemExit):
        cut.run()
    assert (tmp_path / "cut" / "snapshots" / "epoch_002.npz").exists()
    os.remove(tmp_path / "cut" / "snapshots" / "epoch_002.npz")        # even if that write was lost too
    trainer(tmp_path / "cut").run(resume=True)
    for epoch in (1, 2, 3):
        a = np.load(tmp_path / "whole" / "snapshots" / f"epoch_{epoch:03d}.npz")
        b = np.load(tmp_path / "cut" / "snapshots" / f"epoch_{epoch:03d}.npz")
        for key in a.files:
            if key.startswith("param/"):
                np.testing.assert_array_equal(a[key], b[key], err_msg=f"epoch {epoch} {key}")


def test_a_missing_snapshot_of_the_last_finished_epoch_is_rewritten_on_resume(tmp_path):
    t = trainer(tmp_path, epochs=3)
    t.run(max_batches=3)                          # epoch 1 is 3 batches: done, checkpoint at batch 0
    os.remove(tmp_path / "snapshots" / "epoch_001.npz")
    again = trainer(tmp_path, epochs=1)
    again.run(resume=True)
    assert (tmp_path / "snapshots" / "epoch_001.npz").exists()


def test_sigterm_saves_a_checkpoint_like_ctrl_c(tmp_path, cifar):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "minizf.cli", "train", "--data", str(cifar), "--epochs", "50",
                             "--batch-size", "4", "--quiet", "--out", str(out), "--val-subset", "4"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (out / "checkpoint.npz").exists() and time.time() < deadline:
        time.sleep(0.2)                           # epoch 1 done: the loop is running
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    state = json.loads(np.load(out / "checkpoint.npz")["state"].tobytes())
    assert state["epoch"] >= 1 and "interrupted: checkpoint saved" in err + _


def test_stale_temp_files_of_killed_saves_are_removed(tmp_path):
    from minizf.io import save_npz_atomic
    (tmp_path / "model.npz.abc123.tmp").write_bytes(b"half a file")
    (tmp_path / "other.npz.x.tmp").write_bytes(b"someone else's")
    save_npz_atomic(tmp_path / "model.npz", {"a": np.zeros(3)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz", "other.npz.x.tmp"]


@pytest.mark.parametrize("command", ["tour", "topk", "occlude", "invariance", "evolution", "correspondence",
                                     "filters", "features", "transfer", "evaluate", "train"])
def test_every_computing_command_takes_a_device_and_refuses_a_missing_gpu_in_one_line(command, tmp_path):
    from minizf.backend import cuda_available
    if cuda_available():
        pytest.skip("this machine has a GPU")
    extra = {"occlude": ["x.jpg"], "evaluate": [CIFAR_MODEL]}.get(command, [])
    done = minizf(command, *extra, "--device", "cuda", "--out", tmp_path)
    assert_user_error(done, "--device", "CuPy")
    env_done = subprocess.run([sys.executable, "-m", "minizf.cli", command, *extra, "--out", str(tmp_path)],
                              capture_output=True, text=True, env=dict(os.environ, MINIZF_DEVICE="cuda"))
    assert_user_error(env_done, "CuPy")            # $MINIZF_DEVICE is honoured, never silently ignored


def test_empty_class_folders_are_refused_and_nested_images_counted(tmp_path):
    from PIL import Image

    from minizf.data import load_image_folder
    for path in ("a/1.png", "a/deeper/2.png", "b/3.png"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / path)
    ds = load_image_folder(tmp_path, size=8)
    assert ds.files == ["a/1.png", "a/deeper/2.png", "b/3.png"] and list(ds.labels) == [0, 0, 1]
    (tmp_path / "c").mkdir()
    with pytest.raises(ValueError, match=r"class folders without images \['c'\]"):
        load_image_folder(tmp_path, size=8)


def test_an_out_that_cannot_be_written_is_refused_before_any_work(tmp_path):
    (tmp_path / "file").write_text("x")
    started = time.perf_counter()
    done = minizf("transfer", "--model", CIFAR_MODEL, "--out", tmp_path / "file")
    assert_user_error(done, "--out", "is a file, not a folder")
    assert time.perf_counter() - started < 20          # refused at once, not after the transfer


def test_resume_checks_the_arguments_given_to_main_not_sys_argv(tmp_path, cifar, monkeypatch):
    from minizf import cli
    out = tmp_path / "run"
    base = ["train", "--data", str(cifar), "--batch-size", "16", "--quiet", "--out", str(out), "--val-subset", "4"]
    assert cli.main(base + ["--epochs", "1"]) == 0
    monkeypatch.setattr(sys, "argv", ["minizf"])             # a caller of main() with its own argv
    assert cli.main(base + ["--epochs", "2", "--resume", "--seed", "7"]) == 2


# ----------------------------------------------------------------------------- hostile files, a full disk
def test_a_fifo_named_jpg_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)                               # opening it for reading would wait for a writer forever
    assert_user_error(minizf("occlude", fifo, "--model", CIFAR_MODEL, "--out", tmp_path / "o", timeout=60),
                      "photo.jpg", "not a regular image file")


def _png_header_only(width, height):
    """A PNG whose header claims width x height pixels (Pillow checks the size when it opens it)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + \
        chunk(b"IEND", b"")


def test_a_decompression_bomb_is_one_line(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header_only(15000, 15000))       # 225 M pixels: Pillow's bomb guard
    assert_user_error(minizf("occlude", bomb, "--model", CIFAR_MODEL, "--out", tmp_path / "o"), "bomb.png")


def test_a_full_disk_leaves_the_earlier_file_whole(tmp_path, monkeypatch, capsys):
    import errno

    from minizf import cli, io
    target = tmp_path / "model.npz"
    assert cli.main(["export", str(ASSETS / "zf_small.npz"), str(target)]) == 0
    before = target.read_bytes()

    def disk_full(f, **arrays):
        f.write(b"the first bytes of the new file")
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(io.np, "savez", disk_full)
    capsys.readouterr()
    assert cli.main(["export", str(ASSETS / "zf_small.npz"), str(target), "--force"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0] and "Traceback" not in err[0]
    assert target.read_bytes() == before                    # the earlier file, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]      # no temp file left


@pytest.mark.slow
def test_kills_at_random_moments_lose_no_snapshot(tmp_path, cifar):
    """SIGKILL a training run at random moments, resume each time: the snapshots and the model
    end bit-identical to an uninterrupted run's."""
    base = ["train", "--data", str(cifar), "--epochs", "3", "--batch-size", "4", "--quiet", "--val-subset", "4",
            "--lr", "0.01", "--lr-steps", "2"]
    started = time.perf_counter()
    whole = minizf(*base, "--out", tmp_path / "whole", timeout=300)
    assert whole.returncode == 0, whole.stderr
    duration = time.perf_counter() - started                   # kill moments scale with this machine's speed
    out, rng, kills = tmp_path / "cut", np.random.default_rng(7), 0
    for attempt in range(30):
        flags = ["--resume"] if (out / "checkpoint.npz").exists() else ["--force"]
        proc = subprocess.Popen([sys.executable, "-m", "minizf.cli", *base, "--out", str(out), *flags],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            proc.wait(timeout=float(rng.uniform(0.3, 0.95)) * duration)
        except subprocess.TimeoutExpired:
            proc.kill()                                        # kill -9: no handler runs
            proc.wait()
            kills += 1
            continue
        assert proc.returncode == 0, proc.stderr.read()
        if (out / "model.npz").exists():
            break
    assert kills >= 1 and (out / "model.npz").exists()
    wanted = sorted(p.name for p in (tmp_path / "whole" / "snapshots").iterdir())
    assert sorted(p.name for p in (out / "snapshots").iterdir()) == wanted and wanted
    for name in wanted + ["../model.npz"]:
        a, b = np.load(tmp_path / "whole" / "snapshots" / name), np.load(out / "snapshots" / name)
        for key in (k for k in a.files if k.startswith("param/")):
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name} {key}")


@pytest.mark.parametrize("argv,words", [
    (["grade", "{tmp}"], ["no assignment file"]),
    (["grade", "{tmp}/x.py", "--time-limit", "-1"], ["--time-limit"]),
    (["grade", "{tmp}/x.py", "--time-limit", "inf"], ["--time-limit", "less than a day"]),
    (["topk", "--layer", "pool9"], ["--layer", "no layer named 'pool9'", "layer5"]),
    (["occlude", str(ASSETS / "samples" / "chelsea.jpg"), "--layer", "fc8"], ["--layer fc8", "not feature maps"]),
    (["train", "--lr", "-1"], ["--lr", "> 0"]),
    (["train", "--lr", "nan"], ["--lr", "finite"]),
    (["train", "--weight-decay", "-5"], ["--weight-decay", ">= 0"]),
    (["train", "--seed", "-1"], ["--seed", "at least 0"]),
    (["export", "{tmp}/none.npz", "{tmp}/x.onnx"], ["none.npz", "no such file"]),
    (["export", str(ASSETS / "zf_small.npz"), "{tmp}/x.txt"], [".onnx or .npz"]),
    (["topk", "--model", "{tmp}/none.onnx"], ["none.onnx", "no such file"]),
    (["topk", "--model", "{tmp}/junk.npz"], ["junk.npz", "never unpickles"]),
    (["explore", "--images", "0"], ["--images"]),
    (["explore", "--layers", "nope", "--images", "3"], ["nope"]),
    (["assignment", "make"], ["name one of"]),
    (["topk", "--mean", "1,2"], ["--mean", "3 values"]),
    (["transfer", "--scratch-fold-list", "0,2"], ["--scratch-fold-list", "from 1 to 5"]),
])
def test_the_new_commands_fail_in_one_line(argv, words, tmp_path):
    (tmp_path / "junk.npz").write_bytes(os.urandom(300))
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert_user_error(minizf(*argv, "--out", tmp_path / "o") if argv[0] in ("topk", "explore", "transfer")
                      else minizf(*argv),
                      *words)


def test_an_output_file_that_cannot_be_written_is_named_before_any_work(tmp_path):
    (tmp_path / "afile").write_text("x")
    assert_user_error(minizf("export", ASSETS / "zf_small.npz", tmp_path / "afile" / "m.onnx"), "afile", "not a folder")
    bank = os.path.join(os.path.dirname(__file__), "bank", "sgd.py")
    done = minizf("grade", bank, "--json", tmp_path / "afile" / "r.json")
    assert_user_error(done, "--json", "not a folder")
    assert "score" not in done.stdout                    # refused before grading, not after


def _model_file(path, tamper):
    """zf_small saved again after tamper(arrays) (a NaN weight, a meta that is a list)."""
    import json
    from minizf.io import load_npz, save_npz_atomic
    arrays = dict(load_npz(ASSETS / "zf_small.npz"))
    tamper(arrays, json)
    save_npz_atomic(path, arrays)
    return path


@pytest.mark.parametrize("tamper, words", [
    (lambda a, json: a.__setitem__("param/conv1.W", np.full_like(a["param/conv1.W"], np.nan)), "NaN or infinite"),
    (lambda a, json: a.__setitem__("meta", np.frombuffer(json.dumps([1, 2]).encode(), np.uint8)), "expected an object"),
    (lambda a, json: a.__setitem__("param/fc8.W", np.resize(np.float32([3e38, -3e38]), a["param/fc8.W"].shape)),
     "not finite"),                                              # finite weights whose sums overflow: inf - inf
])
def test_a_model_file_with_bad_weights_or_meta_is_one_line(tamper, words, tmp_path):
    path = _model_file(tmp_path / "bad.npz", tamper)
    assert_user_error(minizf("evaluate", path, "--subset", "10"), "bad.npz", words)


def _with_member(src, dst, name, shape, data=b"\0" * 8):
    """src's .npz with one more member whose .npy header claims ``shape`` (float64) over ``data``."""
    import io
    import shutil
    import zipfile
    shutil.copy(src, dst)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(dst, "a") as z:
        z.writestr(f"{name}.npy", header.getvalue() + data)              # the header holds the magic
    return dst


def test_a_member_a_command_does_not_use_is_never_read(tmp_path):
    from minizf.modelfile import load_model
    path = _with_member(ASSETS / "zf_small.npz", tmp_path / "m.npz", "junk", (10**12,))
    net, mean, meta = load_model(path)                       # 8 TB claimed, never allocated
    assert meta == load_model(ASSETS / "zf_small.npz")[2]


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_an_array_header_that_claims_more_than_its_data_is_one_line(tmp_path):
    path = _with_member(ASSETS / "zf_small.npz", tmp_path / "m.npz", "param/conv1.W", (10**12,))
    done = minizf("evaluate", path, "--subset", "10")
    assert_user_error(done, "m.npz", "conv1.W", "declares")


def test_running_out_of_memory_is_one_line(monkeypatch, capsys):
    from minizf import cli
    parser = cli.build_parser()

    def greedy(args):
        raise MemoryError()
    parser._subparsers._group_actions[0].choices["info"].set_defaults(run=greedy)
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    assert cli.main(["info"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1 and "not enough memory" in err


def _photo_folders(root, split_classes):
    """root/imagenette/{split}/{class}/*.png: four tiny photos per class."""
    from PIL import Image
    for split, classes in split_classes.items():
        for cls in classes:
            folder = root / "imagenette" / split / cls
            folder.mkdir(parents=True)
            for i in range(4):
                Image.new("RGB", (80, 72), (40 * i, 90, 200)).save(folder / f"{i}.png")
    return root


def test_imagenette_train_and_val_must_hold_the_same_classes(tmp_path):
    root = _photo_folders(tmp_path, {"train": ["a", "b"], "val": ["a", "c"]})
    done = minizf("train", "--dataset", "imagenette", "--model", "zf64", "--data", root, "--out", tmp_path / "r")
    assert_user_error(done, "different classes", "b, c")


def test_a_model_for_other_image_sizes_is_refused_before_the_data_is_read(tmp_path):
    done = minizf("train", "--dataset", "imagenette", "--model", "zf-small", "--data", tmp_path / "nothing",
                  "--out", tmp_path / "r")
    assert_user_error(done, "--model zf-small", "32 px", "64 px")


def test_a_subset_of_a_class_sorted_folder_takes_every_class(tmp_path):
    from minizf import data
    ds = data.load_image_folder(_photo_folders(tmp_path, {"train": ["a", "b", "c"]}) / "imagenette" / "train",
                                size=16)
    picked = data.balanced_first(ds, 5)
    assert sorted(ds.labels[picked].tolist()) == [0, 0, 1, 1, 2]


def test_gif_and_tiff_photos_count_and_a_needle_image_is_refused(tmp_path):
    from PIL import Image
    from minizf import data
    folder = tmp_path / "photos" / "cat"
    folder.mkdir(parents=True)
    Image.new("RGB", (40, 30), (10, 20, 30)).save(folder / "a.gif")
    Image.new("RGB", (40, 30), (10, 20, 30)).save(folder / "b.tif")
    assert len(data.load_image_folder(tmp_path / "photos", size=16)) == 2
    Image.new("RGB", (2000, 1)).save(tmp_path / "needle.png")
    with pytest.raises(ValueError, match="needle.png.*2000x1"):
        data.load_image(tmp_path / "needle.png", 72)


def test_resume_names_a_checkpoint_that_is_not_one(tmp_path):
    import shutil
    (tmp_path / "run").mkdir()
    shutil.copy(CIFAR_MODEL, tmp_path / "run" / "checkpoint.npz")          # a model file, not a checkpoint
    assert_user_error(minizf("train", "--resume", "--out", tmp_path / "run", "--data", tmp_path),
                      "--resume", "not a training checkpoint")


def test_model_options_are_checked_before_any_work(tmp_path):
    (tmp_path / "classes.txt").write_text("cat\ndog\n")
    assert_user_error(minizf("tour", "--classes", tmp_path / "classes.txt", "--out", tmp_path / "t"),
                      "--classes", "holds 2 names", "10 outputs")
    assert not (tmp_path / "t" / "index.html").exists()
    assert_user_error(minizf("topk", "--std", "0.2,0,0.2", "--out", tmp_path / "t"), "--std", "positive")
    (tmp_path / "twice.txt").write_text("\n".join(["a"] * 10))
    assert_user_error(minizf("occlude", "x.jpg", "--classes", tmp_path / "twice.txt", "--out", tmp_path / "o"),
                      "appears twice")


def test_sizes_that_would_exhaust_memory_are_refused_before_allocation(tmp_path):
    import json as json_
    from minizf.modelfile import load_model
    net, mean, meta = load_model(CIFAR_MODEL)
    arrays = dict(np.load(CIFAR_MODEL))
    record = json_.loads(arrays["meta"].tobytes().decode())
    record["model"] = "hostile"
    record["layers"] = [{"name": "fc", "kind": "Linear", "in": 10 ** 6, "out": 10 ** 6}]
    arrays["meta"] = np.frombuffer(json_.dumps(record).encode(), np.uint8)
    np.savez(tmp_path / "huge.npz", **arrays)
    assert_user_error(minizf("info", "--model", tmp_path / "huge.npz"), "huge.npz", "1,000,000,000,000 weights")
    assert_user_error(minizf("topk", "--input-size", "100000", "--out", tmp_path / "o"), "--input-size",
                      "at most 2048")


def test_info_lists_a_models_layers_and_the_papers_roles():
    done = minizf("info", "--model", CIFAR_MODEL)
    assert done.returncode == 0, done.stderr
    assert "conv1" in done.stdout and "layer1 = norm1, layer5 = relu5, layer7 = relu7" in done.stdout


@pytest.mark.parametrize("options,words", [({"fc_width": 10 ** 6}, "2,048,000,000 values"),
                                           ({"bogus": 1}, "bogus")])
def test_a_model_files_options_are_its_own_fault(tmp_path, options, words):
    import json as json_
    arrays = dict(np.load(CIFAR_MODEL))
    record = json_.loads(arrays["meta"].tobytes().decode())
    record["model_options"] = options
    arrays["meta"] = np.frombuffer(json_.dumps(record).encode(), np.uint8)
    np.savez(tmp_path / "m.npz", **arrays)
    assert_user_error(minizf("info", "--model", tmp_path / "m.npz"), "m.npz", "cannot be built", words)


def test_a_users_file_is_never_replaced_and_minizfs_own_output_is(tmp_path, cifar):
    # the confusion matrix evaluate writes to the current folder by default
    (tmp_path / "confusion.png").write_text("my own figure")
    assert_user_error(minizf("evaluate", CIFAR_MODEL, "--data", cifar, cwd=tmp_path), "confusion.png", "did not write")
    assert (tmp_path / "confusion.png").read_text() == "my own figure"
    (tmp_path / "confusion.png").unlink()
    for _ in range(2):                                      # a rerun replaces its own figure
        assert minizf("evaluate", CIFAR_MODEL, "--data", cifar, cwd=tmp_path).returncode == 0
    # a --json table: a user's file refused before the scoring, minizf's own replaced
    (tmp_path / "mine.json").write_text('{"notes": "mine"}')
    assert_user_error(minizf("evaluate", CIFAR_MODEL, "--data", cifar, "--json", tmp_path / "mine.json",
                             "--out", tmp_path / "f"), "--json", "mine.json")
    assert (tmp_path / "mine.json").read_text() == '{"notes": "mine"}'
    for _ in range(2):
        assert minizf("evaluate", CIFAR_MODEL, "--data", cifar, "--json", tmp_path / "t.json",
                      "--out", tmp_path / "f").returncode == 0
    # a figure command's PNG: refused at the save, the user's file untouched
    (tmp_path / "figs").mkdir()
    (tmp_path / "figs" / "top9_conv3.png").write_bytes(b"not minizf's")
    assert_user_error(minizf("topk", "--model", CIFAR_MODEL, "--layer", "conv3", "--maps", "2",
                             "--out", tmp_path / "figs"), "top9_conv3.png")
    assert (tmp_path / "figs" / "top9_conv3.png").read_bytes() == b"not minizf's"
    # export: an existing model file only with --force
    target = tmp_path / "copy.npz"
    assert minizf("export", CIFAR_MODEL, target).returncode == 0
    assert_user_error(minizf("export", CIFAR_MODEL, target), "OUT", "copy.npz", "--force")
    assert minizf("export", CIFAR_MODEL, target, "--force").returncode == 0
