"""The figure builders of Sec. 4, one per figure, shared by every figure command and the tour.

Each ``figure_*`` function runs one experiment of ``minizf.analysis``, draws
it with ``minizf.plot`` and weighs it against the paper with
``minizf.analysis.verdicts``: it returns ``(paths, caption, verdict)``. The
commands of ``minizf.cli`` call them one at a time; ``minizf.tour`` calls
them all and writes the index page. A figure a model cannot have (no
training history, no snapshots, no hand-marked boxes at its size) raises
``Unavailable``, which a command reports in one line and the tour shows in
the figure's place.

The default model is ``zf64`` (64 px, trained on Imagenette photos); the
32 px CIFAR-10 model ``zf_small`` stays available with ``--model``. Images
come with the model: Imagenette val photos for a 64 px model, CIFAR-10 test
images for a 32 px one, the photos enlarged for a larger model.
"""
import json
import os
import zlib
from pathlib import Path

import numpy as np

from . import analysis, pages, plot
from .analysis.topk import TopK
from .backend import device_of_net
from .data import ASSETS, bundled_images, bundled_model, bundled_photos, load_image_folder, sample
from .modelfile import load_model

#: The bundled models, best first: the tour's default is the first one present.
BUNDLED = ("zf64", "zf_small")
#: Each bundled model's Krizhevsky-style twin (Fig. 6).
TWINS = {"zf64": "krizhevsky64", "zf-small": "krizhevsky_small"}
#: Fig. 7's examples: photos where the object is local; CIFAR-10 test indices for the 32 px model.
OCCLUSION_PHOTOS = ("english_springer/n02102040_1100.jpg", "church/ILSVRC2012_val_00004912.jpg",
                    "golf_ball/ILSVRC2012_val_00022792.jpg", "parachute/ILSVRC2012_val_00006561.jpg")
OCCLUSION_CIFAR = (302, 0, 1)


class Unavailable(ValueError):
    """A figure this model cannot have (no training history, no snapshots, no hand-marked boxes at
    its size): the tour shows the reason in the figure's place, a command says it in one line."""


def default_model():
    """(net, mean, meta) of the first bundled model in ``BUNDLED`` that is present."""
    for name in BUNDLED:
        if (ASSETS / f"{name}.npz").exists():
            return bundled_model(name)
    raise ValueError(f"no bundled model in {ASSETS}; train one with `minizf train`")


def images_for(net):
    """The bundled images a model can look at: Imagenette photos (64 px, or the 72 px photos resized
    for a larger model, with ``.note`` saying so) or CIFAR-10 (32 px)."""
    size = net.input_shape[-1] if net.input_shape else None
    if size == 32:
        return bundled_images()
    if size is not None and (ASSETS / "imagenette_sample").is_dir():
        if size <= 72:
            return bundled_photos(size)
        photos = load_image_folder(ASSETS / "imagenette_sample", size=size, name="Imagenette val sample, resized")
        photos.note = (f"using the bundled 72 px Imagenette photos enlarged to {size} px (blurred); give "
                       f"--images FOLDER for photos of that size")
        return photos
    raise ValueError(f"no bundled images of {size} px for this model; the bundled sets are "
                     "CIFAR-10 (32 px) and Imagenette photos (72 px)")


def predict_class(net, mean, image):
    """The network's most probable class for one uint8 image (3, H, W)."""
    from .backend import to_numpy
    from .data import normalize
    return int(to_numpy(net.forward(normalize(image[None], mean))).argmax())


def pick_maps(net, layer, count, seed=0):
    """A seeded random choice of ``count`` feature maps of a layer (sorted); each layer draws
    its own maps (the seed is mixed with the layer's name)."""
    channels = net.output_shapes(net.input_shape)[net.index(layer)][1][0]
    rng = np.random.default_rng([seed, zlib.crc32(layer.encode())])
    return np.sort(rng.choice(channels, size=min(count, channels), replace=False))


def five_depths(layers):
    """At most five of ``layers``, evenly spread from the first to the last (a ResNet's 20 convs
    would take long to scan at 224 px, and the paper shows five layers)."""
    if len(layers) <= 5:
        return list(layers)
    return [layers[round(k * (len(layers) - 1) / 4)] for k in range(5)]


def conv_layers(net):
    """Names of the network's conv layers, bottom to top."""
    from .layers import Conv2D
    return [name for name, layer in net if isinstance(layer, Conv2D)]


def figure_curves(meta, out):
    if not meta.get("history"):
        raise Unavailable("the model file holds no training history (minizf train writes one)")
    path = plot.training_curves(meta["history"], os.path.join(out, "curves.png"))
    last = meta["history"][-1]
    return path, (f"Sec. 3 — training curves of {short_name(meta)} ({len(meta['history'])} epochs; last "
                  f"validation accuracy {last.get('val_acc', float('nan')):.3f})."), None


# ----------------------------------------------------------------------------- Fig. 2
def _scanned_maps(net, layer, maps, stat_maps, seed):
    """The maps a Fig. 2 scan measures: the ``maps`` shown and ``stat_maps`` more random ones (sorted)."""
    channels = pick_maps(net, layer, maps, seed)
    return np.union1d(channels, pick_maps(net, layer, stat_maps, seed + 1)) if stat_maps else channels


def figure_top9(net, mean, images, layer, maps, out, seed=0, stat_maps=0, grey=False, comm=None):
    """One layer's top-9 figure: (path, caption, top-9 class purity). The purity is measured over
    the shown maps and ``stat_maps`` more random ones, all found in the same scan; grey: the
    projections in grey, as the paper's Fig. 2. comm: scan over MPI ranks (rank 0 draws; the
    others return (None, None, purity))."""
    channels = pick_maps(net, layer, maps, seed)
    scanned = _scanned_maps(net, layer, maps, stat_maps, seed)
    top = analysis.top_activations(net, images.images, mean, layer, scanned, comm=comm)
    purity = float(analysis.class_purity(images.labels[top.images]).mean())
    if comm is not None and comm.rank:
        return None, None, purity
    shown = np.searchsorted(scanned, channels)
    top = TopK(layer, channels, top.values[shown], top.images[shown], top.positions[shown])
    projections, patches = analysis.project_top(net, images.images, mean, top)
    path = plot.top9_figure(projections, patches, channels, layer, os.path.join(out, f"top9_{layer}.png"),
                            grey=grey)
    return path, (f"Fig. 2 — {layer}: for {len(channels)} random maps, the 9 strongest activations over "
                  f"{len(images)} images of {images.name} (9 different images), projected by the deconvnet "
                  "(left, contrast-normalised per panel, 0 = grey) beside the receptive-field patches "
                  "(right)."), purity


def chance_purity(labels, k=9, draws=2000, seed=0):
    """The class purity of k images drawn at random from a labelled set (the baseline of Fig. 2)."""
    rng = np.random.default_rng(seed)
    return float(analysis.class_purity(rng.choice(labels, size=(draws, k))).mean())


def untrained_purity(net, meta, mean, images, layer, maps, seed=0, stat_maps=32):
    """Fig. 2's second baseline: the top-9 class purity of ``layer``'s maps (the same maps the
    trained network was judged on) in the same architecture untrained."""
    from .train import untrained_copy
    fresh = untrained_copy(net, meta, seed)
    top = analysis.top_activations(fresh, images.images, mean, layer,
                                   _scanned_maps(net, layer, maps, stat_maps, seed))
    return float(analysis.class_purity(images.labels[top.images]).mean())


def figures_top9(net, mean, images, out, maps, layers=None, seed=0, stat_maps=32, meta=None):
    """Fig. 2 for every conv layer, with one verdict on class purity by depth (measured over the
    ``maps`` drawn and ``stat_maps`` more random maps of each layer) against random images and
    the same network untrained."""
    layers = layers or five_depths(conv_layers(net))
    paths, purity = [], {}
    for layer in layers:
        path, _, purity[layer] = figure_top9(net, mean, images, layer, maps, out, seed, stat_maps)
        paths.append(path)
    untrained = untrained_purity(net, meta, mean, images, layers[-1], maps, seed, stat_maps)
    verdict = analysis.top9_verdict(purity, chance_purity(images.labels), untrained)
    caption = (f"Fig. 2 — {', '.join(layers)}: for {maps} random maps of each layer, the 9 strongest "
               f"activations over {len(images)} images of {images.name} (one per image), projected by the "
               "deconvnet (left; contrast-normalised per panel, 0 = grey) beside their receptive-field "
               "patches (right).")
    return paths, caption, verdict


# ----------------------------------------------------------------------------- Fig. 4
def snapshot_file(meta):
    """The bundled snapshot file of a bundled model: data/<model>_snapshots.npz."""
    return ASSETS / f"{meta['model'].replace('-', '_')}_snapshots.npz"


def load_snapshots(meta, mean, path=None):
    """([(epoch, net, mean)], layers) from a bundled snapshot file of some layers' weights
    (``snapshot_file(meta)`` by default); the other layers keep their initial weights."""
    from . import models
    path = Path(path or snapshot_file(meta))
    if not path.exists():
        raise Unavailable(f"no snapshot file {path} for {meta['model']}")
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    epochs = sorted({int(k.split("/")[0][6:]) for k in arrays})
    snapshots = []
    for epoch in epochs:
        net = models.build(meta["model"], **meta.get("model_options", {}))
        for key, value in arrays.items():
            if key.startswith(f"epoch_{epoch:03d}/"):
                layer, name = key.split("/")[1].split(".")
                net[layer].params[name] = value.astype(np.float32)
        snapshots.append((epoch, net, mean))
    layers = sorted({k.split("/")[1].split(".")[0] for k in arrays})
    return snapshots, layers


def run_snapshots(model_path):
    """([(epoch, net, mean)], layers) from a training run's folder: RUN/snapshots/epoch_NNN.npz
    beside RUN/model.npz (or the checkpoint), all layers."""
    folder = Path(model_path).parent / "snapshots"
    files = sorted(folder.glob("epoch_*.npz")) if folder.is_dir() else []
    if not files:
        raise Unavailable(f"{model_path}: no training snapshots in {folder} (Fig. 4 needs the "
                         "snapshots/epoch_NNN.npz files that `minizf train` writes beside model.npz)")
    snapshots = []
    for f in files:
        net, mean, _ = load_model(f)
        snapshots.append((int(f.stem.split("_")[1]), net, mean))
    return snapshots, conv_layers(snapshots[0][1])


def with_final(snapshots, net, mean, meta):
    """The snapshots followed by the model itself at its last epoch (if not already there)."""
    epoch = meta.get("epoch") or len(meta.get("history", [])) or (snapshots[-1][0] + 1)
    if snapshots and snapshots[-1][0] >= epoch:
        return snapshots
    return snapshots + [(epoch, net, mean)]


def figure_evolution(net, mean, meta, images, out, per_layer=2, n_images=200, model_path=None, stat_maps=16,
                     grey=False):
    """Fig. 4 from the bundled snapshots of a bundled model, or the run folder of ``model_path``."""
    bundled = model_path is None or Path(model_path).resolve().parent == Path(ASSETS).resolve()
    snapshots, layers = load_snapshots(meta, mean) if bundled else run_snapshots(model_path)
    snapshots = with_final([(e, snap.to(device_of_net(net)), m) for e, snap, m in snapshots], net, mean, meta)
    layers = [layer for layer in conv_layers(net) if layer in layers]
    scan = sample(images, n_images).images           # across the classes, not the first few
    choices = [(layer, int(c)) for layer in layers for c in pick_maps(net, layer, per_layer, seed=1)]
    epochs, rows = analysis.evolution(snapshots, scan, choices)
    path = plot.evolution_figure(epochs, rows, [f"{l} #{c}" for l, c in choices],
                                 os.path.join(out, "evolution.png"), grey=grey)
    similarity = analysis.response_similarity(snapshots, scan, {layer: pick_maps(net, layer, stat_maps, 2)
                                                                for layer in layers})
    verdict = analysis.evolution_verdict(similarity, [int(e) for e in epochs])
    return path, (f"Fig. 4 — feature evolution: the strongest activation over {len(scan)} images of "
                  f"{len(choices)} maps ({per_layer} per layer), projected, at each snapshot epoch "
                  "(columns; the last is the final model)."), verdict


# ----------------------------------------------------------------------------- Fig. 5
def invariance_settings(size):
    """Fig. 5's amounts, scaled to the image side: shifts up to a quarter of it, scales 0.6-1.4,
    rotations -90..90 degrees."""
    step = max(1, size // 16)
    return {"translate": np.arange(-4 * step, 4 * step + 1, step), "scale": np.linspace(0.6, 1.4, 9),
            "rotate": np.arange(-90, 91, 22.5)}


def model_labels(images, classes, strict=True):
    """The images' labels as indices of the model's ``classes``, matched by name (a folder's
    sub-folders, a model's class list); None when the model names no classes. A class the model
    does not know is refused, naming it (``strict``: the user's own folder), or gives None (the
    bundled photos before a model of other classes: track its own answers instead)."""
    if not classes:
        return None
    unknown = sorted(set(images.classes) - set(classes))
    if unknown and not strict:
        return None
    if unknown:
        known = ", ".join(classes[:10]) + (f", ... ({len(classes)} in all)" if len(classes) > 10 else "")
        raise ValueError(f"{images.name}: the model does not know the classes {', '.join(unknown)} "
                         f"(it knows {known}); name the folders as its classes")
    return np.array([classes.index(c) for c in images.classes])[images.labels]


def figure_invariance(net, mean, images, out, count=5, classes=None, strict=False):
    """Fig. 5 on the first image of each of ``count`` classes; classes: the model's class names
    (p(true class) needs them; without, the class the network gives each untransformed image);
    strict: refuse images of classes the model does not know (the user's --images folder)."""
    picks = [int(np.flatnonzero(images.labels == c)[0]) for c in range(len(images.classes))
             if (images.labels == c).any()][:count]
    imgs = images.images[picks]
    labels = model_labels(images, classes, strict)
    labels = None if labels is None else labels[picks]
    settings = invariance_settings(imgs.shape[-1])
    results = [analysis.invariance(net, imgs, labels, mean, kind, amounts) for kind, amounts in settings.items()]
    fill = np.round(mean.mean(axis=(1, 2)) * 255).astype(np.uint8)
    examples = {kind: [analysis.transform(imgs[0], kind, a, fill) for a in amounts[::2]]
                for kind, amounts in settings.items()}
    low, high = list(results[0].distances)
    path = plot.invariance_figure(results, os.path.join(out, "invariance.png"),
                                  names=[images.classes[images.labels[n]] for n in picks], examples=examples)
    tracked = "the true class" if labels is not None else \
        "the class the network gives the untransformed image (the model's classes are not the images')"
    return path, ("Fig. 5 — invariance: top, the first image transformed; below, the distance between the "
                  "feature vectors of the original and the transformed image (divided by the original's "
                  f"norm) at layer 1 ({low}) and layer 7 ({high}), and the probability of {tracked} as a "
                  f"share of the untransformed image's, for {len(picks)} images."), \
        analysis.invariance_verdict(results)


# ----------------------------------------------------------------------------- Fig. 6
def short_name(meta):
    """A model's name for titles: 'zf64', or a file's own name ('onnx:/long/path/resnet18.onnx' ->
    'resnet18.onnx'), so a long --model path does not push the figure's title off its edge."""
    name = str(meta.get("model", "model"))
    return os.path.basename(name.split(":", 1)[1]) if name.startswith("onnx:") else os.path.basename(name)


def describe(net, meta):
    """'zf64 (conv1 7x7/2)': a model's name and first layer."""
    conv1 = net[conv_layers(net)[0]]
    return f"{short_name(meta)} (conv1 {conv1.kernel_size[0]}x{conv1.kernel_size[1]}/{conv1.stride[0]})"


def val_accuracy(meta):
    """The last logged validation accuracy of a model's training, or None."""
    history = meta.get("history") or []
    return history[-1].get("val_acc") if history else None


def with_twin(net, mean, twin=None, meta=None):
    """[(name, net, mean, meta)] for Fig. 6: the model and, if there is one, its Krizhevsky-style
    twin (the file ``twin``, else the bundled twin of the model)."""
    meta = meta or {"model": "model"}
    models = [(describe(net, meta), net, mean, meta)]
    bundled_twin = TWINS.get(meta["model"])
    if twin or (bundled_twin and (ASSETS / f"{bundled_twin}.npz").exists()):
        twin_net, twin_mean, twin_meta = load_model(twin) if twin else bundled_model(bundled_twin)
        models.append((describe(twin_net, twin_meta), twin_net, twin_mean, twin_meta))
    return models


def figure_filters(models, out, images=None, maps=16):
    """models: [(name, net, mean, meta)]. First-layer filters and statistics of each, and (with
    images) the strongest activation of ``maps`` conv2 maps of each, projected."""
    from .train import initial_weights
    first = [conv_layers(net)[0] for _, net, _, _ in models]
    weights = [net[layer].params["W"] for layer, (_, net, _, _) in zip(first, models)]
    stats = [analysis.filter_stats(W, stride=net[layer].stride) for W, layer, (_, net, _, _) in
             zip(weights, first, models)]
    quality = [analysis.filter_quality(W, initial_weights(meta, layer))
               for W, layer, (*_, meta) in zip(weights, first, models)]
    projections = None
    if images is not None:
        projections = []
        for _, net, mean, _ in models:
            layer = conv_layers(net)[1]
            top = analysis.top_activations(net, images.images, mean, layer, pick_maps(net, layer, maps), k=1)
            projections.append(analysis.project_top(net, images.images, mean, top)[0][:, 0])
    names = [name for name, _, _, _ in models]
    path = plot.filters_figure(weights, names, stats, os.path.join(out, "filters.png"), projections, quality)
    verdict = None
    if len(models) == 2:
        verdict = analysis.filters_verdict(stats, [val_accuracy(m) for *_, m in models], names, quality)
    return path, (f"Fig. 6 / Sec. 4.1 — first-layer filters (top) and projections of the strongest activation "
                  f"of {maps} conv2 maps (bottom). Dead = RMS below 0.1 x median; energy = share of spectral "
                  "energy in low/mid/high frequency bands; trained = share of energy above 1/4 cycle per "
                  "pixel against white noise's (noise: ratio 1), and the correlation with the initial "
                  "weights where the run's seed is known (1: training has not moved them)."), verdict


# ----------------------------------------------------------------------------- Fig. 7
def occlusion_setting(size):
    """(square side, stride) of Fig. 7's drawn occluder for images of a given side: the middle
    of the swept sizes (``analysis.occluder_sizes``)."""
    sizes = analysis.occluder_sizes(size)
    return sizes[len(sizes) // 2]


def occlusion_picks(images):
    """Indices of Fig. 7's examples in the bundled images."""
    if hasattr(images, "files"):
        return [images.files.index(f) for f in OCCLUSION_PHOTOS if f in images.files]
    where = {int(i): n for n, i in enumerate(images.indices)}
    return [where[i] for i in OCCLUSION_CIFAR if i in where]


def occlusion_sweep(net, mean, images, labels, layer=None, stride=None):
    """{square side: [OcclusionResult of each image]} over ``analysis.occluder_sizes`` (each size's
    own stride, unless ``stride`` is given) for uint8 images (N, 3, H, W) and their labels;
    layer: the tracked map's layer (default relu5, else the paper's layer 5 found by structure)."""
    from .roles import layer5
    layer = layer or ("relu5" if "relu5" in net else layer5(net))
    return {size: [analysis.occlusion(net, image, label, mean, layer, size, stride or step)
                   for image, label in zip(images, labels)]
            for size, step in analysis.occluder_sizes(images.shape[-1])}


def figure_occlusion(net, mean, images, out, classes=None):
    """Fig. 7 on the bundled picks; classes: the model's class names (the images' classes are matched
    to them by name; without them, each image's class is the network's own answer, said so)."""
    picks = occlusion_picks(images)
    labels = model_labels(images, classes, strict=False)
    guess = labels is None
    labels = [predict_class(net, mean, images.images[n]) for n in picks] if guess else [int(labels[n]) for n in picks]
    names = classes or [str(c) for c in range(net.output_shapes(net.input_shape)[-1][1][0])]
    sweep = occlusion_sweep(net, mean, images.images[picks], labels)
    verdict = analysis.occlusion_verdict(sweep, [names[label] for label in labels], images.images.shape[-1])
    sizes = list(sweep)
    size = next((s for s in sizes if verdict.parts[f"{s} px"]), sizes[len(sizes) // 2])   # the effect, if any
    paths = []
    for n, label, result in zip(picks, labels, sweep[size]):
        name = images.files[n].split("/")[1].split(".")[0] if hasattr(images, "files") else str(images.indices[n])
        paths.append(plot.occlusion_figure(images.images[n].astype(np.float32) / 255, result, names, label,
                                           os.path.join(out, f"occlusion_{name}.png"), guess=guess))
    tracked = sweep[size][0].layer
    return paths, (f"Fig. 7 — occlusion with a grey square (mean colour) of {', '.join(map(str, sizes))} px, "
                   f"the {size} px one drawn: (b) total activation of the strongest layer-5 map ({tracked}), (c) its "
                   f"projection, (d) probability of the {'class the network gives the clean image' if guess else 'true class'}"
                   ", (e) most probable class, against the square's position."), verdict


# ----------------------------------------------------------------------------- Table 1
def correspondence_spec(images):
    """Table 1's faces: (spec, indices into images) for springer faces (photos) or cat faces (CIFAR)."""
    if images.images.shape[-1] not in (32, 64):
        raise Unavailable(f"Table 1's hand-marked eye and nose boxes are for the bundled 64 px photos and 32 px "
                          f"cats, not {images.images.shape[-1]} px images")
    if hasattr(images, "files"):
        spec = json.load(open(ASSETS / "correspondence_springers.json"))
        return spec, [images.files.index(f"{spec['class']}/{f}") for f in spec["files"]]
    spec = json.load(open(ASSETS / "correspondence_cats.json"))
    where = {int(i): n for n, i in enumerate(images.indices)}
    return spec, [where[i] for i in spec["indices"]]


def figure_correspondence(net, mean, images, out):
    spec, picks = correspondence_spec(images)
    imgs = images.images[picks]
    boxes = {part: np.asarray(b) for part, b in spec["parts"].items()}
    result = analysis.correspondence(net, imgs, boxes, mean)
    path = plot.boxes_figure(imgs.astype(np.float32) / 255, boxes, os.path.join(out, "correspondence.png"),
                             "parts occluded for Table 1")
    what = "English springer faces from Imagenette val" if hasattr(images, "files") else \
        "cat faces from the CIFAR-10 test set"
    side = int(boxes["nose"][0][2])
    caption = (f"Table 1 — 5 {what}, the same part occluded in each (a {side}x{side} grey box); Delta = "
               "mean Hamming distance between the signs of the feature changes of two images (lower = "
               "the part is encoded more consistently); random boxes as the baseline.")
    return path, caption, analysis.correspondence_verdict(result), result


def correspondence_table(result):
    layers = list(result.random)
    head = "".join(f"<th>Delta {pages.text(layer)}</th>" for layer in layers)
    rows = "".join(f"<tr><td>{pages.text(part)}</td>" + "".join(f"<td>{d[layer]:.3f}</td>" for layer in layers)
                   + "</tr>" for part, d in result.parts.items())
    rows += "<tr><td>random (mean ± std)</td>" + "".join(
        f"<td>{m:.3f} ± {s:.3f}</td>" for m, s in result.random.values()) + "</tr>"
    return f"<table><tr><th>occluded part</th>{head}</tr>{rows}</table>"
