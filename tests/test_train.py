"""Training: SGD, filter renormalization, checkpoints, exact resume, and a real run that learns."""
import json
import os

import numpy as np
import pytest

from minizf import data, models
from minizf.train import (SGD, TrainConfig, Trainer, evaluate, filter_rms, load_model,
                          renormalize_filters)

TINY = {"widths": (4, 6, 6, 6, 4), "fc_width": 8}


def tiny_set(n=48, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    labels = np.arange(n) % 10
    images[:, 0] = (labels * 25)[:, None, None]          # a learnable colour cue
    return data.ArrayDataset(images, labels, [str(c) for c in range(10)], "tiny")


def trainer(out, epochs=2, **cfg):
    config = TrainConfig(epochs=epochs, batch_size=16, snapshots=(1, 2), **cfg)
    return Trainer(models.zf_small(**TINY), "zf-small", tiny_set(), tiny_set(20, 1), config, out,
                   model_options=TINY, progress=False, log=lambda *a: None)


def weights(t):
    return {name: p.copy() for name, p, _ in t.net.named_parameters()}


def test_filter_renormalization_clips_only_large_filters():
    net = models.zf_small(**TINY)
    W = net["conv1"].params["W"]
    W[...] = 0.05
    W[1] *= 10.0                                   # RMS 0.5
    W[2] *= 2.0                                    # RMS 0.1: on the radius, untouched
    before = W.copy()
    counts = renormalize_filters(net, {"conv1": 0.1})
    assert counts == {"conv1": 1}
    np.testing.assert_allclose(filter_rms(W)[1], 0.1, rtol=1e-6)
    np.testing.assert_allclose(W[1], before[1] * 0.2, rtol=1e-6)   # direction kept
    np.testing.assert_array_equal(np.delete(W, 1, axis=0), np.delete(before, 1, axis=0))


def test_sgd_momentum_and_weight_decay_by_hand():
    net = models.zf_small(**TINY)
    layer = net["fc8"]
    W0 = layer.params["W"].copy()
    g = np.ones_like(W0)
    layer.grads = {"W": g, "b": np.ones_like(layer.params["b"])}
    sgd = SGD(momentum=0.9, weight_decay=0.1)
    sgd.step(net, lr=0.5)
    v1 = -0.5 * (g + 0.1 * W0)
    np.testing.assert_allclose(layer.params["W"], W0 + v1, rtol=1e-6)
    W1 = layer.params["W"].copy()
    sgd.step(net, lr=0.5)
    np.testing.assert_allclose(layer.params["W"], W1 + 0.9 * v1 - 0.5 * (g + 0.1 * W1), rtol=1e-6)


@pytest.mark.parametrize("pause_after", [2, 3, 5])          # mid-epoch and at an epoch's end
def test_resume_is_bit_identical(tmp_path, pause_after):
    whole = trainer(tmp_path / "whole")
    assert whole.run() == "done"
    parts = trainer(tmp_path / "parts")
    assert parts.run(max_batches=pause_after) == "paused"
    resumed = trainer(tmp_path / "parts")
    assert resumed.run(resume=True) == "done"
    for name, p in weights(whole).items():
        np.testing.assert_array_equal(weights(resumed)[name], p, err_msg=name)
    def untimed(history):
        return [{k: v for k, v in row.items() if "seconds" not in k} for row in history]

    assert untimed(resumed.state["history"]) == untimed(whole.state["history"])


def test_files_written_and_model_reloads(tmp_path):
    t = trainer(tmp_path)
    t.run()
    assert sorted(os.listdir(tmp_path / "snapshots")) == ["epoch_001.npz", "epoch_002.npz"]
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2] and {"lr", "train_loss", "val_acc", "seconds"} <= set(rows[0])
    net, mean, meta = load_model(tmp_path / "model.npz")
    assert meta["model"] == "zf-small" and mean.shape == (3, 32, 32)
    for (name, p, _), (_, q, _) in zip(net.named_parameters(), t.net.named_parameters()):
        np.testing.assert_array_equal(p, q, err_msg=name)
    single = evaluate(net, tiny_set(20, 1), mean)
    ten = evaluate(net, tiny_set(20, 1), mean, ten_crop=True)
    assert 0 <= single["top1"] <= single["top5"] <= 1 and ten["probs"].shape == (20, 10)


def test_resume_refuses_a_corrupt_checkpoint(tmp_path):
    t = trainer(tmp_path, epochs=1)
    t.run()
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match="checkpoint.npz: not a readable .npz"):
        trainer(tmp_path).run(resume=True)


def test_nan_loss_stops_and_keeps_the_last_checkpoint(tmp_path):
    t = trainer(tmp_path, epochs=2)
    t.run(max_batches=3)                           # epoch 1 done, one batch into epoch 2
    before = (tmp_path / "checkpoint.npz").read_bytes()
    bad = trainer(tmp_path, epochs=2)
    bad.load_checkpoint()
    bad.net["fc8"].params["W"][...] = np.nan
    bad.save_checkpoint()
    saved = (tmp_path / "checkpoint.npz").read_bytes()
    with pytest.raises(FloatingPointError, match="loss became nan.*checkpoint.npz"):
        trainer(tmp_path, epochs=2).run(resume=True)
    assert (tmp_path / "checkpoint.npz").read_bytes() == saved != before


def test_learning_rate_steps_and_plateau(tmp_path):
    t = trainer(tmp_path, epochs=3, lr_steps=(1,))
    t.run()
    assert [r["lr"] for r in t.state["history"]] == [0.01, 0.001, 0.001]


@pytest.mark.slow
def test_two_epochs_on_real_images_lower_the_loss(tmp_path):
    try:
        train = data.load_cifar10(split="train").subset(np.arange(512))
    except ValueError:
        train = tiny_set(256)
    config = TrainConfig(epochs=2, batch_size=32, lr=0.02, snapshots=())
    t = Trainer(models.zf_small(widths=(16, 16, 16, 16, 16), fc_width=64), "zf-small", train, None,
                config, tmp_path, progress=False, log=lambda *a: None)
    t.run()
    first, second = (r["train_loss"] for r in t.state["history"])
    assert second < first


def test_plateau_annealing(tmp_path):
    # A learning rate too small to move float32 weights: the validation error never
    # improves after epoch 1, so the rate is halved after every 2 epochs without progress.
    t = trainer(tmp_path, epochs=5, lr=1e-30, plateau_patience=2, anneal_factor=2.0)
    t.run()
    lrs = [r["lr"] for r in t.state["history"]]
    assert lrs == [1e-30, 1e-30, 1e-30, 5e-31, 5e-31]


def test_ctrl_c_saves_a_checkpoint_and_resume_matches(tmp_path):
    import signal
    whole = trainer(tmp_path / "whole")
    whole.run()
    t = trainer(tmp_path / "cut")
    step, calls = t._train_step, []

    def step_then_ctrl_c(*args):
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)   # as if the user pressed Ctrl-C during batch 2
        return step(*args)

    t._train_step = step_then_ctrl_c
    with pytest.raises(KeyboardInterrupt):
        t.run()
    assert json.loads(np.load(tmp_path / "cut" / "checkpoint.npz")["state"].tobytes())["batch"] == 2
    resumed = trainer(tmp_path / "cut")
    resumed.run(resume=True)
    for name, p in weights(whole).items():
        np.testing.assert_array_equal(weights(resumed)[name], p, err_msg=name)


def test_evaluate_command_writes_a_confusion_matrix(tmp_path):
    import subprocess
    import sys
    t = trainer(tmp_path, epochs=1)
    t.run()
    folder = tmp_path / "cifar"
    from .test_data import make_cifar
    make_cifar(folder / "cifar-10-batches-py")
    out = subprocess.run([sys.executable, "-m", "minizf.cli", "evaluate", str(tmp_path / "model.npz"),
                          "--data", str(folder), "--ten-crop", "--out", str(tmp_path / "cm.png")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "top-1 error" in out.stdout and (tmp_path / "cm.png").stat().st_size > 5000


def test_init_from_a_model_file(tmp_path):
    first = trainer(tmp_path / "a", epochs=1)
    first.run()
    second = trainer(tmp_path / "b", epochs=1)
    second.run(max_batches=1, init_from=tmp_path / "a" / "model.npz")   # one SGD step from there
    assert np.array_equal(second.mean, first.mean)
    fresh = trainer(tmp_path / "c", epochs=1, seed=1)
    fresh.run(max_batches=1)                                             # one step from a fresh init
    w = {name: weights(t)["conv2.W"] for name, t in [("first", first), ("second", second), ("fresh", fresh)]}
    assert np.abs(w["second"] - w["first"]).max() < 0.1 * np.abs(w["fresh"] - w["first"]).max()


@pytest.mark.parametrize("scheme", ["he", "paper"])
def test_init_schemes(scheme):
    from minizf.train import init_weights
    net = models.zf_small()
    init_weights(net, scheme, seed=3, conv1_std=0.001)
    assert net["conv1"].params["W"].std() == pytest.approx(0.001, rel=0.1)
    W = net["conv4"].params["W"]
    expected = 0.01 if scheme == "paper" else np.sqrt(2.0 / np.prod(W.shape[1:]))
    assert W.std() == pytest.approx(expected, rel=0.02)
    assert all(not net[name].params["b"].any() for name in ("conv1", "conv4", "fc8"))


@pytest.mark.parametrize("spoil,words", [
    (lambda a: a.update({"param/fc8.W": a["param/fc8.W"].astype(np.int32)}), "fc8.W: expected floating-point"),
    (lambda a: a.update({"mean": np.zeros((3, 1, 1), np.float32)}), "mean image of shape"),
    (lambda a: a.pop("mean"), "mean image"),
    (lambda a: a.update({"meta": np.frombuffer(b'{"no model": 1}', np.uint8)}), "malformed 'meta'"),
    (lambda a: a.update({"meta": np.frombuffer(b"not json", np.uint8)}), "malformed 'meta'"),
])
def test_a_spoiled_model_file_is_refused_by_name(tmp_path, spoil, words):
    from minizf.io import save_npz_atomic
    t = trainer(tmp_path, epochs=1)
    t.run()
    arrays = dict(np.load(tmp_path / "model.npz"))
    spoil(arrays)
    save_npz_atomic(tmp_path / "bad.npz", arrays)
    with pytest.raises(ValueError, match=words):
        load_model(tmp_path / "bad.npz")


def test_initial_weights_are_those_the_run_started_from(tmp_path):
    from minizf.analysis import init_correlation
    from minizf.train import initial_weights
    t = trainer(tmp_path / "a", epochs=1, lr=1e-6, seed=4)
    start = weights(t)
    t.run(max_batches=1)                       # one tiny step: the weights barely move
    meta = t.meta()
    assert init_correlation(weights(t)["conv2.W"], initial_weights(meta, "conv2")) > 0.999
    assert not np.array_equal(start["conv2.W"], weights(t)["conv2.W"])     # drawn at run(), not before
    other_seed = dict(meta, config=dict(meta["config"], seed=5))
    assert abs(init_correlation(weights(t)["conv2.W"], initial_weights(other_seed, "conv2"))) < 0.2
    assert initial_weights({"model": "resnet", "config": meta["config"]}, "conv2") is None
    started_elsewhere = trainer(tmp_path / "b", epochs=1)
    started_elsewhere.run(max_batches=1, init_from=tmp_path / "a" / "checkpoint.npz")
    assert initial_weights(started_elsewhere.meta(), "conv2") is None


def test_paper_snapshots_scale_fig4_epochs_to_the_run():
    from minizf.train import paper_snapshots
    assert paper_snapshots(70) == (1, 2, 5, 10, 20, 30, 40, 64, 70)
    assert paper_snapshots(35) == (1, 3, 5, 10, 15, 20, 32, 35)         # 1 and 2 of 70 both round to 1
    assert paper_snapshots(45) == (1, 3, 6, 13, 19, 26, 41, 45)
    assert paper_snapshots(3) == (1, 2, 3)
