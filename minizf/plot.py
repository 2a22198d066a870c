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


def to_display(image, signed=False):
    """An array (3, H, W) or (H, W) -> an array for imshow, values in [0, 1].

    signed=False: min-max stretch. signed=True: centred, so 0 is mid-grey and
    the larger of |min|, |max| reaches black or white (for projections and
    filters, whose sign matters; a min-max stretch would shift the grey level).
    """
    a = to_numpy(image).astype(np.float64)
    if a.ndim == 3:
        a = a.transpose(1, 2, 0)
        if a.shape[2] == 1:
            a = a[:, :, 0]
    if signed:
        m = np.abs(a).max()
        return 0.5 + 0.5 * a / m if m > 0 else np.full_like(a, 0.5)
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
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def curve(xs, ys, path, xlabel="", ylabel="", title="", labels=None, logy=False):
    """Save a line plot (one or several curves) as a PNG; returns path."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.4))
    series = ys if labels else [ys]
    for k, y in enumerate(series):
        ax.plot(xs, y, marker="o", ms=3, label=labels[k] if labels else None)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if logy:
        ax.set_yscale("log")
    if labels:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


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
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


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
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
