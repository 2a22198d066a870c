"""``minizf tour``: every figure of Sec. 4 from the bundled model and images, with an index page.

Each ``figure_*`` function runs one experiment of ``minizf.analysis`` and
draws it with ``minizf.plot``; the commands of ``minizf.cli`` call the same
functions one at a time.
"""
import html
import json
import os
import time

import numpy as np

from . import analysis, plot
from .data import ASSETS, bundled_images, bundled_model
from .train import load_model


def predict_class(net, mean, image):
    """The network's most probable class for one uint8 image (3, H, W)."""
    from .backend import to_numpy
    from .data import normalize
    return int(to_numpy(net.forward(normalize(image[None], mean))).argmax())


def pick_maps(net, layer, count, seed=0):
    """A seeded random choice of ``count`` feature maps of a layer (sorted)."""
    channels = net.output_shapes(net.input_shape)[net.index(layer)][1][0]
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(channels, size=min(count, channels), replace=False))


def figure_curves(meta, out):
    path = plot.training_curves(meta["history"], os.path.join(out, "curves.png"))
    last = meta["history"][-1]
    return path, (f"Sec. 3 — training curves of the bundled model ({meta['model']}, {len(meta['history'])} "
                  f"epochs; last validation accuracy {last.get('val_acc', float('nan')):.3f}).")


def figure_top9(net, mean, images, layer, maps, out, seed=0):
    channels = pick_maps(net, layer, maps, seed)
    top = analysis.top_activations(net, images.images, mean, layer, channels)
    projections, patches = analysis.project_top(net, images.images, mean, top)
    path = plot.top9_figure(projections, patches, channels, layer, os.path.join(out, f"top9_{layer}.png"))
    return path, (f"Fig. 2 — {layer}: for {len(channels)} random maps, the 9 strongest activations over "
                  f"{len(images)} CIFAR-10 test images (9 different images), projected by the deconvnet "
                  "(left, 0 = grey) beside the receptive-field patches (right).")


def load_snapshots(net_builder_meta, mean, path=None):
    """(epoch, net, mean) for each epoch in the bundled snapshot file (conv layers only)."""
    from . import models
    path = path or ASSETS / "zf_small_snapshots.npz"
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    epochs = sorted({int(k.split("/")[0][6:]) for k in arrays})
    snapshots = []
    for epoch in epochs:
        net = models.build(net_builder_meta["model"], **net_builder_meta.get("model_options", {}))
        for key, value in arrays.items():
            if key.startswith(f"epoch_{epoch:03d}/"):
                layer, name = key.split("/")[1].split(".")
                net[layer].params[name] = value.astype(np.float32)
        snapshots.append((epoch, net, mean))
    layers = sorted({k.split("/")[1].split(".")[0] for k in arrays})
    return snapshots, layers


def figure_evolution(meta, mean, images, out, per_layer=2, n_images=200):
    snapshots, layers = load_snapshots(meta, mean)
    net = snapshots[-1][1]
    choices = [(layer, int(c)) for layer in layers for c in pick_maps(net, layer, per_layer, seed=1)]
    epochs, rows = analysis.evolution(snapshots, images.images[:n_images], choices)
    path = plot.evolution_figure(epochs, rows, [f"{l} #{c}" for l, c in choices],
                                 os.path.join(out, "evolution.png"))
    return path, (f"Fig. 4 — feature evolution: the strongest activation over {n_images} test images of "
                  f"{len(choices)} maps, projected, at each snapshot epoch (columns).")


def figure_invariance(net, mean, images, out, count=5):
    picks = [int(np.flatnonzero(images.labels == c)[0]) for c in range(min(count, len(images.classes)))]
    imgs, labels = images.images[picks], images.labels[picks]
    settings = {"translate": np.arange(-8, 9, 2), "scale": np.linspace(0.6, 1.4, 9),
                "rotate": np.arange(-90, 91, 22.5)}
    results = [analysis.invariance(net, imgs, labels, mean, kind, amounts) for kind, amounts in settings.items()]
    path = plot.invariance_figure(results, os.path.join(out, "invariance.png"),
                                  names=[images.classes[c] for c in labels])
    return path, ("Fig. 5 — invariance: distance between the feature vectors of the original and the "
                  "transformed image (divided by the original's norm) at layer 1 (norm1) and layer 7 "
                  "(relu7), and the probability of the true class, for 5 test images.")


def with_twin(net, mean, twin=None):
    """[(name, net, mean)] for Fig. 6: the ZF model and, if there is one, its Krizhevsky-style
    twin (the file ``twin``, else the bundled one)."""
    models = [("ZF-small (3x3/1)", net, mean)]
    if twin or (ASSETS / "krizhevsky_small.npz").exists():
        twin_net, twin_mean, _ = load_model(twin) if twin else bundled_model("krizhevsky_small")
        models.append(("Krizhevsky-small (5x5/2)", twin_net, twin_mean))
    return models


def figure_filters(models, out, images=None, maps=16):
    """models: list of (name, net, mean). First-layer filters and statistics of each, and
    (with images) the strongest activation of ``maps`` conv2 maps of each, projected."""
    weights = [net["conv1"].params["W"] for _, net, _ in models]
    stats = [analysis.filter_stats(W) for W in weights]
    projections = None
    if images is not None:
        projections = []
        for _, net, mean in models:
            top = analysis.top_activations(net, images.images, mean, "conv2", pick_maps(net, "conv2", maps), k=1)
            projections.append(analysis.project_top(net, images.images, mean, top)[0][:, 0])
    names = [name for name, _, _ in models]
    path = plot.filters_figure(weights, names, stats, os.path.join(out, "filters.png"), projections)
    text = "; ".join(f"{n}: {s['dead']}/{s['filters']} dead, energy {s['band_share']}" for n, s in zip(names, stats))
    return path, (f"Fig. 6 / Sec. 4.1 — first-layer filters (top) and projections of the strongest activation "
                  f"of {maps} conv2 maps (bottom). Dead = RMS below 0.1 x median; energy = share of spectral "
                  f"energy in low/mid/high frequency bands. {text}")


def figure_occlusion(net, mean, images, out, picks=(302, 0, 1), size=8, stride=2):
    paths = []
    where = {int(i): n for n, i in enumerate(images.indices)}
    for index in picks:
        n = where.get(index, 0)
        result = analysis.occlusion(net, images.images[n], int(images.labels[n]), mean, size=size, stride=stride)
        paths.append(plot.occlusion_figure(images.images[n].astype(np.float32) / 255, result, images.classes,
                                           int(images.labels[n]), os.path.join(out, f"occlusion_{index}.png")))
    return paths, (f"Fig. 7 — occlusion with a {size}x{size} grey square (mean colour), stride {stride}: "
                   "(b) total activation of the strongest layer-5 map (relu5), (c) its projection, (d) probability of "
                   "the true class, (e) most probable class, against the square's position.")


def figure_correspondence(net, mean, images, out, spec_path=None):
    spec = json.load(open(spec_path or ASSETS / "correspondence_cats.json"))
    where = {int(i): n for n, i in enumerate(images.indices)}
    imgs = images.images[[where[i] for i in spec["indices"]]]
    boxes = {part: np.asarray(b) for part, b in spec["parts"].items()}
    result = analysis.correspondence(net, imgs, boxes, mean)
    path = plot.boxes_figure(imgs.astype(np.float32) / 255, boxes, os.path.join(out, "correspondence.png"),
                             "parts occluded for Table 1")
    return path, result


def correspondence_table(result):
    layers = list(result.random)
    head = "".join(f"<th>Delta {html.escape(layer)}</th>" for layer in layers)
    rows = "".join(f"<tr><td>{html.escape(part)}</td>" + "".join(f"<td>{d[layer]:.3f}</td>" for layer in layers)
                   + "</tr>" for part, d in result.parts.items())
    rows += "<tr><td>random (mean ± std)</td>" + "".join(
        f"<td>{m:.3f} ± {s:.3f}</td>" for m, s in result.random.values()) + "</tr>"
    return f"<table><tr><th>occluded part</th>{head}</tr>{rows}</table>"


def write_index(out, entries, title):
    body = []
    for heading, paths, caption, extra in entries:
        imgs = "".join(f'<img src="{html.escape(os.path.basename(p))}">' for p in paths)
        body.append(f"<section><h2>{html.escape(heading)}</h2>{imgs}<p>{html.escape(caption)}</p>{extra}</section>")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}img{max-width:100%;"
            "margin:4px}table{border-collapse:collapse}td,th{border:1px solid #999;padding:3px 8px}"
            f"</style></head><body><h1>{html.escape(title)}</h1>" + "".join(body) + "</body></html>")
    path = os.path.join(out, "index.html")
    with open(path, "w") as f:
        f.write(page)
    return path


def tour(out="tour", model=None, twin=None, n_images=500, maps=6, progress=True):
    """Write every figure and index.html to ``out``; returns the index path."""
    from tqdm import tqdm
    os.makedirs(out, exist_ok=True)
    net, mean, meta = load_model(model) if model else bundled_model("zf_small")
    compared = with_twin(net, mean, twin)
    images = bundled_images()
    scan = images.subset(np.arange(min(n_images, len(images))), name=images.name)   # for top-9 scans
    steps = [
        ("Training (Sec. 3)", lambda: figure_curves(meta, out)),
        ("Top-9 activations, conv2 (Fig. 2)", lambda: figure_top9(net, mean, scan, "conv2", maps, out)),
        ("Top-9 activations, conv3 (Fig. 2)", lambda: figure_top9(net, mean, scan, "conv3", maps, out)),
        ("Top-9 activations, conv5 (Fig. 2)", lambda: figure_top9(net, mean, scan, "conv5", maps, out)),
        ("Feature evolution (Fig. 4)", lambda: figure_evolution(meta, mean, scan, out, n_images=min(200, len(scan)))),
        ("Invariance (Fig. 5)", lambda: figure_invariance(net, mean, images, out)),
        ("Architecture selection (Fig. 6, Sec. 4.1)", lambda: figure_filters(compared, out, scan)),
        ("Occlusion (Fig. 7)", lambda: figure_occlusion(net, mean, images, out)),
        ("Correspondence (Table 1)", lambda: figure_correspondence(net, mean, images, out)),
    ]
    entries = []
    started = time.perf_counter()
    for heading, step in tqdm(steps, desc="minizf tour", disable=not progress, unit="figure"):
        paths, caption = step()
        extra = ""
        if heading.startswith("Correspondence"):
            extra, caption = correspondence_table(caption), (
                "Table 1 — 5 cat faces from the CIFAR-10 test set, the same part occluded in each (a 5x5 "
                "grey box); Delta = mean Hamming distance between the signs of the feature changes of two "
                "images (lower = the part is encoded more consistently); random boxes as the baseline.")
        entries.append((heading, paths if isinstance(paths, list) else [paths], caption, extra))
    title = f"minizf tour — {meta['model']} ({time.perf_counter() - started:.0f} s)"
    return write_index(out, entries, title)
