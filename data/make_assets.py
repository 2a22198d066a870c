"""How the bundled assets in data/ were made (run from the repository root).

    python data/make_assets.py cifar RUN_DIR [TWIN_RUN_DIR]     # zf_small, krizhevsky_small, CIFAR sample
    python data/make_assets.py photos RUN_DIR [TWIN_RUN_DIR]    # zf64, krizhevsky64, Imagenette sample
    python data/make_assets.py filters OLD.npz NEW.npz          # docs/conv1_filters.png for the README

* zf_small.npz / krizhevsky_small.npz / zf64.npz / krizhevsky64.npz: the final
  weights of a `minizf train` run, stored as float16 (half the size;
  `load_model` returns float32), with the mean image and the run's metrics;
* zf_small_snapshots.npz: conv1-conv3 weights at the snapshot epochs, float16,
  for the feature-evolution figure (Fig. 4), added to the epochs already there;
  zf64_snapshots.npz: conv1-conv5 at Fig. 4's epochs 1, 2, 5, 10, 20, 30, 40
  and 64 of the 70-epoch run (the final model is the last column);
* *_metrics.json: the training options and per-epoch metrics (train and
  validation loss and accuracy, seconds);
* cifar10_sample.npz: the first 500 CIFAR-10 test images plus those named in
  correspondence_cats.json, as uint8 with their test-set indices;
* imagenette_sample/: 50 random Imagenette val photos per class plus the
  figures' picks (PHOTO_PICKS, correspondence_springers.json), copied as they are.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from minizf import data  # noqa: E402
from minizf.io import save_npz_atomic  # noqa: E402
from minizf.modelfile import load_model, save_model  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SNAPSHOT_LAYERS = ("conv1", "conv2", "conv3")


def export_model(run, name):
    net, mean, meta = load_model(os.path.join(run, "model.npz") if os.path.exists(
        os.path.join(run, "model.npz")) else os.path.join(run, "checkpoint.npz"))
    save_model(os.path.join(HERE, f"{name}.npz"), net, mean, meta, dtype=np.float16)
    print(f"{name}: epoch {meta['epoch']}, history {len(meta['history'])} epochs")


def export_metrics(name):
    """name_metrics.json: the training options and per-epoch metrics stored in the bundled model file."""
    _, _, meta = load_model(os.path.join(HERE, f"{name}.npz"))
    path = os.path.join(HERE, f"{name}_metrics.json")
    with open(path + ".tmp", "w") as f:
        json.dump({k: meta[k] for k in ("model", "config", "epoch", "history")}, f, indent=1)
    os.replace(path + ".tmp", path)
    print(f"{name}_metrics.json: {len(meta['history'])} epochs")


def export_snapshots(run, name, layers=SNAPSHOT_LAYERS, epochs=None, fresh=False):
    """Snapshot weights of the run (``epochs``: which ones, default all); epochs already bundled
    but gone from the run folder are kept (the bundled zf_small run lost its epoch 1-10 snapshot
    files with a machine, not their exported weights) unless ``fresh`` (a new run replaces them all)."""
    path = os.path.join(HERE, f"{name}_snapshots.npz")
    arrays = dict(np.load(path)) if os.path.exists(path) and not fresh else {}
    folder = os.path.join(run, "snapshots")
    for file in sorted(os.listdir(folder)):
        epoch = int(file.split("_")[1].split(".")[0])
        if epochs is not None and epoch not in epochs:
            continue
        net, _, _ = load_model(os.path.join(folder, file))
        for layer in layers:
            arrays[f"epoch_{epoch:03d}/{layer}.W"] = net[layer].params["W"].astype(np.float16)
            arrays[f"epoch_{epoch:03d}/{layer}.b"] = net[layer].params["b"].astype(np.float16)
    save_npz_atomic(path, arrays)
    print(f"{name}_snapshots: {sorted({k.split('/')[0] for k in arrays})}")


def export_sample(n=500):
    test = data.load_cifar10(split="test")
    extra = json.load(open(os.path.join(HERE, "correspondence_cats.json")))["indices"]
    indices = np.array(sorted(set(range(n)) | set(extra)))
    save_npz_atomic(os.path.join(HERE, "cifar10_sample.npz"),
                    {"images": test.images[indices], "labels": test.labels[indices], "indices": indices,
                     "classes": np.array(test.classes)})
    print(f"cifar10_sample: {len(indices)} images")


#: Photos the figures need beside the random sample: Table 1's springer faces, Fig. 7's local objects.
PHOTO_PICKS = ["church/ILSVRC2012_val_00004912.jpg", "golf_ball/ILSVRC2012_val_00022792.jpg",
               "parachute/ILSVRC2012_val_00006561.jpg", "english_springer/n02102040_1100.jpg"]


def export_photos(per_class=50, seed=0):
    """imagenette_sample/CLASS/FILE.jpg: per_class random Imagenette val photos of each class plus the
    picks, copied byte for byte (JPEG files are ten times smaller than their pixels)."""
    import shutil
    val = data.data_root() / "imagenette" / "val"
    spec = json.load(open(os.path.join(HERE, "correspondence_springers.json")))
    picks = set(PHOTO_PICKS) | {f"{spec['class']}/{name}" for name in spec["files"]}
    rng = np.random.default_rng(seed)
    out = os.path.join(HERE, data.PHOTO_SAMPLE)
    shutil.rmtree(out, ignore_errors=True)
    for cls in sorted(os.listdir(val)):
        files = sorted(os.listdir(val / cls))
        chosen = {files[i] for i in rng.choice(len(files), per_class, replace=False)}
        chosen |= {p.split("/")[1] for p in picks if p.startswith(cls + "/")}
        os.makedirs(os.path.join(out, cls))
        for name in sorted(chosen):
            shutil.copyfile(val / cls / name, os.path.join(out, cls, name))
    print(f"{data.PHOTO_SAMPLE}: {sum(len(f) for _, _, f in os.walk(out))} photos")


def compare_filters(old, new, out=os.path.join(os.path.dirname(HERE), "docs", "conv1_filters.png")):
    """The README's picture: the first-layer filters of two model files side by side, with the
    dead-filter count, band energies, and the high-frequency share against white noise."""
    from minizf import analysis
    from minizf.plot import filters_figure
    from minizf.train import initial_weights
    weights, names, stats, quality = [], [], [], []
    for label, path in (("before", old), ("after", new)):
        net, _, meta = load_model(path)
        W = net["conv1"].params["W"]
        weights.append(W)
        config = meta["config"]
        init = f"N(0, {config['conv1_std']:g}^2)" if config.get("conv1_std") else config.get("init")
        names.append(f"{label}: {init}, {meta['epoch']} epochs")
        stats.append(analysis.filter_stats(W))
        quality.append(analysis.filter_quality(W, initial_weights(meta, "conv1")))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    print(filters_figure(weights, names, stats, out, quality=quality))
    for name, q in zip(names, quality):
        print(name, q)


def main(argv):
    kind, runs = argv[0], argv[1:]
    if kind == "filters":
        return compare_filters(*runs)
    if kind == "cifar":
        export_model(runs[0], "zf_small")
        export_snapshots(runs[0], "zf_small")
        if len(runs) > 1:
            export_model(runs[1], "krizhevsky_small")
        bundled = ("zf_small", "krizhevsky_small")
        export_sample()
    elif kind == "photos":
        from minizf.train import PAPER_SNAPSHOTS
        export_model(runs[0], "zf64")
        export_snapshots(runs[0], "zf64", layers=("conv1", "conv2", "conv3", "conv4", "conv5"),
                         epochs=PAPER_SNAPSHOTS, fresh=True)           # Fig. 4's eight epochs of 70
        bundled = ("zf64",)
        if len(runs) > 1:
            export_model(runs[1], "krizhevsky64")
            bundled += ("krizhevsky64",)
        export_photos()
    else:
        sys.exit(__doc__)
    for name in bundled:
        export_metrics(name)


if __name__ == "__main__":
    main(sys.argv[1:] or ["help"])
