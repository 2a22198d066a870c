"""Figures (matplotlib). Nothing here computes results; it only draws arrays it is given."""
import os

import numpy as np

from .backend import to_numpy


def _pyplot():
    import matplotlib
    if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")          # headless: write files, open no window
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path):
    """Write a figure as PNG with minizf's mark (making the folder; replacing only a figure minizf
    wrote; the old file or the whole new one, never half), close it, return the path."""
    import io

    from . import __version__
    from .io import WRITTEN_BY, check_replaceable, save_bytes_atomic
    try:
        check_replaceable(path)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100, metadata={"Software": f"{WRITTEN_BY} {__version__}"})
    finally:
        _pyplot().close(fig)
    save_bytes_atomic(path, buffer.getvalue())
    return path


def to_display(image, signed=False, clip=None, grey=False):
    """An array (3, H, W) or (H, W) -> an array for imshow, values in [0, 1].

    signed=False: min-max stretch. signed=True: centred, so 0 is mid-grey and
    the largest |value| reaches black or white (for projections and filters,
    whose sign matters; a min-max stretch would shift the grey level).
    clip: with signed, scale by this percentile of |value| instead of the
    largest and clip the rest, so a few strong pixels do not leave the
    picture faint (the paper's figures are contrast-normalised this way).
    grey: the mean over the colour channels, (H, W), as the paper's Fig. 2 shows
    its projections: structure without the colour speckle of a first layer's noise.
    """
    a = to_numpy(image).astype(np.float64)
    if grey and a.ndim == 3:
        a = a.mean(axis=0)
    if a.ndim == 3:
        a = a.transpose(1, 2, 0)
        if a.shape[2] == 1:
            a = a[:, :, 0]
    if signed:
        m = np.percentile(np.abs(a), clip) if clip else np.abs(a).max()
        m = m if m > 0 else np.abs(a).max()
        return np.clip(0.5 + 0.5 * a / m, 0, 1) if m > 0 else np.full_like(a, 0.5)
    lo, hi = a.min(), a.max()
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def image_grid(images, path, titles=None, ncols=None, signed=False, suptitle=None, cell=1.6):
    """Save a grid of images (each (3, H, W) or (H, W)) as a PNG at ``path``; returns path."""
    plt = _pyplot()
    n = len(images)
    ncols = ncols or min(n, 8)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, cell * nrows + 0.4), squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k < n:
            shown = to_display(images[k], signed[k] if isinstance(signed, (list, tuple)) else signed)
            ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=1,
                      interpolation="nearest")
            if titles:
                ax.set_title(titles[k], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def curve(xs, ys, path, xlabel="", ylabel="", title="", labels=None, logy=False, logx=False, errors=None):
    """Save a line plot (one or several curves) as a PNG; returns path.

    errors: error bars (e.g. the standard deviation over folds), shaped like ys."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.4))
    series = ys if labels else [ys]
    spreads = (errors if labels else [errors]) if errors is not None else [None] * len(series)
    for k, (y, e) in enumerate(zip(series, spreads)):
        ax.errorbar(xs, y, yerr=e, marker="o", ms=3, capsize=3 if e is not None else 0,
                    label=labels[k] if labels else None)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    if labels:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def bars(names, values, path, ylabel="", title="", labels=None):
    """Save a bar chart, one group of bars per name (one bar per series in ``values``); returns path."""
    plt = _pyplot()
    series = values if labels else [values]
    fig, ax = plt.subplots(figsize=(max(5, 0.8 * len(names) + 2), 3.8))
    width = 0.8 / len(series)
    for k, ys in enumerate(series):
        drawn = ax.bar(np.arange(len(names)) + (k - (len(series) - 1) / 2) * width, ys, width,
                       label=labels[k] if labels else None)
        ax.bar_label(drawn, fmt="%.2f", fontsize=7)
    ax.set_xticks(np.arange(len(names)), names, rotation=30, ha="right", fontsize=8)
    ax.set(ylabel=ylabel, title=title)
    ax.set_ylim(0, 1.25 * max(max(ys) for ys in series))      # room for the labels and the legend
    if labels:
        ax.legend(fontsize=8, ncols=len(series), loc="upper center")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def training_curves(history, path):
    """Loss and accuracy per epoch from a training history (list of dicts); returns path."""
    plt = _pyplot()
    epochs = [row["epoch"] for row in history]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
    a1.plot(epochs, [r["train_loss"] for r in history], "o-", ms=3, label="train")
    a2.plot(epochs, [r["train_acc"] for r in history], "o-", ms=3, label="train")
    if "val_loss" in history[0]:
        a1.plot(epochs, [r["val_loss"] for r in history], "o-", ms=3, label="validation")
        a2.plot(epochs, [r["val_acc"] for r in history], "o-", ms=3, label="validation")
    a1.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    a2.set(xlabel="epoch", ylabel="top-1 accuracy", title="accuracy")
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def confusion_figure(counts, classes, path, title=""):
    """A confusion matrix (rows: true class, columns: predicted) as a PNG; returns path."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5.2))
    ax.imshow(counts, cmap="Blues")
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, counts[i, j], ha="center", va="center", fontsize=7,
                    color="white" if counts[i, j] > counts.max() / 2 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=60, fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    return _save(fig, path)


# ----------------------------------------------------------------------------- the paper's figures
#: Projections are scaled by this percentile of their |values| (``to_display``'s clip).
PROJECTION_CLIP = 99.5


def tile(images, ncols, signed=False, pad=1, clip=None, grey=False):
    """Images (K, 3, h, w) -> one RGB mosaic (H, W, 3) in [0, 1], each image normalised on its own
    (``to_display``: centred for signed projections, as the paper's figures; grey: channel mean)."""
    k, _, h, w = images.shape
    nrows = -(-k // ncols)
    out = np.ones((nrows * (h + pad) - pad, ncols * (w + pad) - pad, 3))
    for n in range(k):
        r, c = divmod(n, ncols)
        shown = to_display(images[n], signed, clip, grey)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = \
            shown if shown.ndim == 3 else shown[..., None]
    return out


def top9_figure(projections, patches, channels, layer, path, per_row=3, grey=False):
    """Fig. 2: for each map, its top-9 projections (3x3) beside the image patches (3x3).

    projections, patches: (M, 9, 3, h, w); grey: projections in grey (the channels' mean)."""
    plt = _pyplot()
    m = len(channels)
    rows = -(-m // per_row)
    fig, axes = plt.subplots(rows, 2 * per_row, figsize=(5.2 * per_row, 2.7 * rows + 0.5), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for n, channel in enumerate(channels):
        r, c = divmod(n, per_row)
        axes[r, 2 * c].imshow(tile(projections[n], 3, signed=True, clip=PROJECTION_CLIP, grey=grey),
                              interpolation="nearest")
        axes[r, 2 * c + 1].imshow(tile(patches[n], 3), interpolation="nearest")
        axes[r, 2 * c].set_title(f"map {channel}", fontsize=8)
    fig.suptitle(f"{layer}: top-9 activations projected (left) and their image patches (right)", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def evolution_figure(epochs, rows, labels, path, grey=False):
    """Fig. 4: one row per (layer, map), one column per epoch; rows: list of (E, 3, h, w);
    grey: projections in grey (the channels' mean)."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(rows), len(epochs), figsize=(1.1 * len(epochs) + 0.8, 1.15 * len(rows) + 0.4),
                             squeeze=False)
    for r, row in enumerate(rows):
        for c, projection in enumerate(row):
            ax = axes[r, c]
            shown = to_display(projection, signed=True, clip=PROJECTION_CLIP, grey=grey)
            ax.imshow(shown, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"epoch {epochs[c]}", fontsize=7)
            if c == 0:
                ax.set_ylabel(labels[r], fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


def invariance_figure(results, path, names=None, examples=None):
    """Fig. 5: a column per transformation; rows: (optionally) the transformed example images
    ({kind: [uint8 (3, H, W)]}), normalised distance per layer, then p(true class)."""
    plt = _pyplot()
    layers = list(results[0].distances)
    top = 1 if examples else 0
    fig, axes = plt.subplots(len(layers) + 1 + top, len(results),
                             figsize=(3.3 * len(results), 2.3 * (len(layers) + 1) + 1.6 * top), squeeze=False,
                             gridspec_kw={"height_ratios": [0.7] * top + [1] * (len(layers) + 1)})
    from .analysis.invariance import KINDS
    for c, res in enumerate(results):
        if examples:
            strip = np.concatenate([np.asarray(im).transpose(1, 2, 0) for im in examples[res.kind]], axis=1)
            axes[0, c].imshow(strip, interpolation="nearest")
            axes[0, c].axis("off")
        for r, layer in enumerate(layers, start=top):
            ax = axes[r, c]
            for n, curve_ in enumerate(res.distances[layer]):
                ax.plot(res.amounts, curve_, "o-", ms=2, label=names[n] if names else None)
            ax.set_ylabel(f"{layer}: |f(Tx)-f(x)| / |f(x)|", fontsize=7)
        ax = axes[-1, c]
        for n, p in enumerate(res.relative_prob):
            ax.plot(res.amounts, p, "o-", ms=2, label=names[n] if names else None)
        ax.set_ylim(0, max(1.05, float(res.relative_prob.max()) * 1.05))
        ax.set_ylabel("p(true) / p(true, untransformed)", fontsize=7)
        ax.set_xlabel(KINDS[res.kind], fontsize=8)
        axes[0, c].set_title(res.kind, fontsize=9)
    for ax in axes[top:].ravel():
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    if names:
        axes[-1, -1].legend(fontsize=6)
    fig.tight_layout()
    return _save(fig, path)


def filters_figure(weights, names, stats, path, projections=None, quality=None):
    """Fig. 6: first-layer filters of several models side by side, with their statistics (and
    ``filter_quality`` of each, if given); below each, optionally, layer-2 projections (a list of
    (M, 3, h, w) arrays)."""
    plt = _pyplot()
    rows = 1 if projections is None else 2
    fig, axes = plt.subplots(rows, len(weights), figsize=(4.4 * len(weights), 4.8 * rows), squeeze=False)
    for c, (W, name, st) in enumerate(zip(weights, names, stats)):
        W = np.asarray(W)
        ax = axes[0, c]
        ax.imshow(tile(W, int(np.ceil(np.sqrt(len(W)))), signed=True), interpolation="nearest")
        shares = ", ".join(f"{k} {v:.2f}" for k, v in st["band_share"].items())
        trained = ""
        if quality is not None:
            q = quality[c]
            trained = f"\nhigh-frequency energy {q['ratio']:.2f} of noise's" + (
                f", {q['init_correlation']:.2f} correlated with its init" if q["init_correlation"] is not None else "")
        ax.set_title(f"{name}: conv1 {W.shape[2]}x{W.shape[3]}\n{st['dead']}/{st['filters']} dead; "
                     f"energy {shares}{trained}", fontsize=8)
        if projections is not None:
            p = projections[c]
            axes[1, c].imshow(tile(p, int(np.ceil(np.sqrt(len(p)))), signed=True, clip=PROJECTION_CLIP),
                              interpolation="nearest")
            axes[1, c].set_title(f"{name}: strongest conv2 activations, projected", fontsize=8)
    for ax in axes.ravel():
        ax.axis("off")
    fig.tight_layout(rect=(0, 0, 1, 0.97))          # three title lines per panel: leave them room
    return _save(fig, path)


def occlusion_figure(image, result, classes, label, path, guess=False):
    """Fig. 7: (a) image, (b) activation of the strongest map, (c) its projection,
    (d) p(true class), (e) most probable class, each as a function of the square's position.

    guess: the label is the network's own answer, not a known true class (said so in the titles)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 5, figsize=(15, 3.3))
    extent = None
    axes[0].imshow(to_display(image), interpolation="nearest")
    axes[0].add_patch(plt.Rectangle((-0.5, -0.5), result.size, result.size, fill=False, ec="yellow", lw=1))
    named = f"network's guess: {classes[label]}" if guess else classes[label]
    axes[0].set_title(f"(a) {named}, p = {result.prob_true_clean:.2f}", fontsize=9)
    im = axes[1].imshow(result.activation, cmap="viridis", extent=extent)
    axes[1].set_title(f"(b) total activation of map {result.channel}", fontsize=9)
    fig.colorbar(im, ax=axes[1], fraction=0.046)
    axes[2].imshow(to_display(result.projection, signed=True, clip=PROJECTION_CLIP), interpolation="nearest")
    axes[2].set_title(f"(c) projection of map {result.channel}", fontsize=9)
    im = axes[3].imshow(result.prob_true, cmap="magma", vmin=0, vmax=1)
    axes[3].set_title(f"(d) p({classes[label]}{', guessed' if guess else ''})", fontsize=9)
    fig.colorbar(im, ax=axes[3], fraction=0.046)
    shown = np.unique(result.top_class)
    lookup = {c: i for i, c in enumerate(shown)}
    im = axes[4].imshow(np.vectorize(lookup.get)(result.top_class), cmap="tab10", vmin=0, vmax=9)
    axes[4].set_title("(e) most probable class", fontsize=9)
    handles = [plt.Rectangle((0, 0), 1, 1, color=plt.cm.tab10(lookup[c])) for c in shown]
    axes[4].legend(handles, [classes[c] for c in shown], fontsize=7, loc="upper left",
                   bbox_to_anchor=(1.0, 1.0))
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return _save(fig, path)


def boxes_figure(images, boxes, path, title=""):
    """The images of the correspondence experiment with each part's box drawn: boxes {part: (N, 4)}."""
    plt = _pyplot()
    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(2.0 * n, 2.3), squeeze=False)
    colors = ["yellow", "cyan", "magenta", "lime"]
    for k, ax in enumerate(axes[0]):
        ax.imshow(to_display(images[k]), interpolation="nearest")
        for (part, b), color in zip(boxes.items(), colors):
            top, left, h, w = np.asarray(b)[k]
            ax.add_patch(plt.Rectangle((left - 0.5, top - 0.5), w, h, fill=False, ec=color, lw=1.2))
        ax.axis("off")
    handles = [plt.Rectangle((0, 0), 1, 1, fill=False, ec=c) for c in colors[:len(boxes)]]
    fig.legend(handles, list(boxes), fontsize=7, loc="lower center", ncol=len(boxes))
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return _save(fig, path)
