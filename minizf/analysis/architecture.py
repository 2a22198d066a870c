"""Sec. 4.1 / Fig. 6: first-layer filters as numbers, to compare architectures.

* dead filters: RMS below ``fraction`` (default 0.1) of the layer's median RMS;
* frequency coverage: the share of each filter's spectral energy (its
  zero-padded 2-D FFT, summed over colour channels, mean removed) in low,
  mid and high spatial-frequency bands, split at 1/6 and 1/3 cycles per
  pixel (the highest possible is 1/2). The paper's 11x11/4 filters miss the
  mid frequencies; the 7x7/2 ones cover them.
* aliasing: the share of a filter's energy above the Nyquist frequency of the
  layer's stride, which subsampling folds onto lower frequencies.
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


def alias_share(W, stride, size=32):
    """(F,) share of each filter's spectral energy above the Nyquist frequency of its stride: a layer
    that samples its output every s pixels folds frequencies above 1/(2s) cycles per pixel (along
    either axis) onto lower ones, the aliasing of the paper's Fig. 6 (c). W (F, C, kh, kw)."""
    W = to_numpy(W).astype(np.float64)
    W = W - W.mean(axis=(2, 3), keepdims=True)
    power = (np.abs(np.fft.fft2(W, s=(size, size))) ** 2).sum(axis=1)
    f = np.abs(np.fft.fftfreq(size))
    sy, sx = (stride, stride) if np.isscalar(stride) else stride
    folded = (f[:, None] > 1 / (2 * sy)) | (f[None, :] > 1 / (2 * sx))
    total = power.reshape(len(W), -1).sum(axis=1)
    return power[:, folded].sum(axis=1) / np.where(total > 0, total, 1.0)


def filter_stats(W, fraction=0.1, stride=None):
    """Summary of a first layer: {"filters", "dead", "band_share" (3,) mean over live filters, and
    with the layer's stride "alias_share": the live filters' mean share of energy its stride folds}."""
    dead = dead_filters(W, fraction)
    shares = band_energy(W)[~dead]
    stats = {"filters": int(len(dead)), "dead": int(dead.sum()), "dead_fraction": fraction,
             "band_share": dict(zip(BAND_NAMES, shares.mean(axis=0).round(3).tolist()))}
    if stride is not None:
        stats["stride"] = tuple(stride) if not np.isscalar(stride) else (stride, stride)
        stats["alias_share"] = round(float(alias_share(to_numpy(W)[~dead], stride).mean()), 3)
    return stats


# ----------------------------------------------------------------------------- are the filters trained?
HIGH_FREQUENCY = 0.25       # cycles per pixel: above it lies what a smooth edge or blob hardly has
TRAINED_RATIO = 0.8         # trained: at most 0.8 of white noise's high-frequency share
MEASURABLE = 0.95           # a kernel whose bins nearly all lie above the cutoff (3x3) cannot tell


def _radius(shape):
    """|f| in cycles per pixel of each bin of a (kh, kw) DFT."""
    fy, fx = np.fft.fftfreq(shape[0]), np.fft.fftfreq(shape[1])
    return np.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)


def high_frequency_share(W, cutoff=HIGH_FREQUENCY):
    """(F,) share of each filter's energy above ``cutoff`` cycles per pixel: W (F, C, kh, kw).

    Each channel's mean is removed first (a colour's brightness is no frequency) and the
    energy of the channels is summed; the DFT has the kernel's own size, so white noise
    spreads its energy evenly over the bins and its share is known exactly
    (``noise_high_frequency_share``).
    """
    W = to_numpy(W).astype(np.float64)
    W = W - W.mean(axis=(2, 3), keepdims=True)
    power = (np.abs(np.fft.fft2(W)) ** 2).sum(axis=1)                 # (F, kh, kw)
    total = power.reshape(len(W), -1).sum(axis=1)
    high = power[:, _radius(W.shape[2:]) > cutoff].sum(axis=1)
    return high / np.where(total > 0, total, 1.0)


def noise_high_frequency_share(kernel, cutoff=HIGH_FREQUENCY):
    """What ``high_frequency_share`` expects of white-noise filters of kernel (kh, kw): the share
    of the DFT's bins, the mean's bin left out, that lie above ``cutoff``."""
    radius = _radius(kernel).ravel()[1:]                              # bin 0 is the mean
    return float((radius > cutoff).mean())


def init_correlation(W, W0):
    """Mean over filters of the correlation between each trained filter of W (F, C, kh, kw) and
    the same filter at initialisation W0: near 1, training has hardly moved it."""
    a = to_numpy(W).reshape(len(W), -1).astype(np.float64)
    b = to_numpy(W0).reshape(len(W0), -1).astype(np.float64)
    a, b = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return float(np.mean((a * b).sum(axis=1) / np.where(norms > 0, norms, 1.0)))


def filter_quality(W, W0=None, cutoff=HIGH_FREQUENCY):
    """Are first-layer filters W (F, C, kh, kw) trained, or still their initial noise?

    Returns {"high_share": mean high-frequency share of the live filters, "noise_share": white
    noise's, "ratio": their quotient, "trained": ratio <= TRAINED_RATIO, or None for a kernel too
    small to tell (3x3: every frequency but the mean's lies above the cutoff), "init_correlation":
    with W0, the initial weights, when given (else None)}.
    """
    live = ~dead_filters(W)
    high = float(high_frequency_share(to_numpy(W)[live], cutoff).mean())
    noise = noise_high_frequency_share(W.shape[2:], cutoff)
    trained = None if noise >= MEASURABLE else bool(high / noise <= TRAINED_RATIO)
    return {"high_share": round(high, 3), "noise_share": round(noise, 3), "ratio": round(high / noise, 3),
            "trained": trained,
            "init_correlation": None if W0 is None else round(init_correlation(W, W0), 3)}
