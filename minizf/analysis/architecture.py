"""Sec. 4.1 / Fig. 6: first-layer filters as numbers, to compare architectures.

* dead filters: RMS below ``fraction`` (default 0.1) of the layer's median RMS;
* frequency coverage: the share of each filter's spectral energy (its
  zero-padded 2-D FFT, summed over colour channels, mean removed) in low,
  mid and high spatial-frequency bands, split at 1/6 and 1/3 cycles per
  pixel (the highest possible is 1/2). The paper's 11x11/4 filters miss the
  mid frequencies; the 7x7/2 ones cover them.
"""
import numpy as np

from ..backend import to_numpy

BANDS = ((0.0, 1 / 6), (1 / 6, 1 / 3), (1 / 3, 0.5 * np.sqrt(2) + 1e-9))
BAND_NAMES = ("low", "mid", "high")


def dead_filters(W, fraction=0.1):
    """Boolean (F,): filters of W (F, C, kh, kw) whose RMS is below fraction x median RMS."""
    rms = np.sqrt((to_numpy(W).reshape(len(W), -1).astype(np.float64) ** 2).mean(axis=1))
    return rms < fraction * np.median(rms)


def band_energy(W, size=32):
    """(F, 3) share of each filter's spectral energy in the low, mid and high bands."""
    W = to_numpy(W).astype(np.float64)
    W = W - W.mean(axis=(2, 3), keepdims=True)                 # the DC term says nothing of edges
    power = (np.abs(np.fft.fft2(W, s=(size, size))) ** 2).sum(axis=1)      # (F, size, size)
    f = np.fft.fftfreq(size)
    radius = np.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
    bands = np.stack([power[:, (radius >= lo) & (radius < hi)].sum(axis=1) for lo, hi in BANDS], axis=1)
    total = bands.sum(axis=1, keepdims=True)
    return bands / np.where(total > 0, total, 1.0)


def filter_stats(W, fraction=0.1):
    """Summary of a first layer: {"filters", "dead", "band_share" (3,) mean over live filters}."""
    dead = dead_filters(W, fraction)
    shares = band_energy(W)[~dead]
    return {"filters": int(len(dead)), "dead": int(dead.sum()),
            "band_share": dict(zip(BAND_NAMES, shares.mean(axis=0).round(3).tolist()))}
