"""How the bundled assets in data/ were made (run from the repository root).

    python data/make_assets.py RUN_DIR [TWIN_RUN_DIR]

* zf_small.npz / krizhevsky_small.npz: the final weights of a `minizf train`
  run, stored as float16 (half the size; `load_model` returns float32), with
  the mean image and the run's metrics;
* zf_small_snapshots.npz: conv1-conv3 weights at the snapshot epochs, float16,
  for the feature-evolution figure (Fig. 4), added to the epochs already there;
* zf_small_metrics.json / krizhevsky_small_metrics.json: the training options
  and per-epoch metrics (train and validation loss and accuracy, seconds);
* cifar10_sample.npz: the first 500 CIFAR-10 test images plus those named in
  correspondence_cats.json, as uint8 with their test-set indices.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from minizf import data  # noqa: E402
from minizf.io import save_npz_atomic  # noqa: E402
from minizf.train import load_model, save_model  # noqa: E402

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


def export_snapshots(run, name):
    """Snapshot weights of the run; epochs already bundled but gone from the run folder are kept
    (the bundled run lost its epoch 1-10 snapshot files with a machine, not their exported weights)."""
    path = os.path.join(HERE, f"{name}_snapshots.npz")
    arrays = dict(np.load(path)) if os.path.exists(path) else {}
    folder = os.path.join(run, "snapshots")
    for file in sorted(os.listdir(folder)):
        epoch = int(file.split("_")[1].split(".")[0])
        net, _, _ = load_model(os.path.join(folder, file))
        for layer in SNAPSHOT_LAYERS:
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


if __name__ == "__main__":
    export_model(sys.argv[1], "zf_small")
    export_snapshots(sys.argv[1], "zf_small")
    if len(sys.argv) > 2:
        export_model(sys.argv[2], "krizhevsky_small")
    for bundled in ("zf_small", "krizhevsky_small"):
        export_metrics(bundled)
    export_sample()
