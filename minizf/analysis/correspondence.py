"""Table 1 (Sec. 4.3): does the network tie together the same part across images?

Occlude the same part (say, the left eye) in N images of one kind of object;
at layer l take the change eps_i = x_i^l - x~_i^l of each image's feature
vector. If the network encodes the part consistently, the changes point the
same way: the signs of eps_i and eps_j agree. Delta_l is the Hamming distance
of the signs, as a fraction of the vector length, averaged over all ordered
pairs i != j (the paper sums the pairs; we average so the value is a fraction
like the paper's 0.067). Random boxes of the same size give the baseline.
"""
from dataclasses import dataclass

import numpy as np

from ..backend import device_of_net, to_device, to_numpy
from ..data import normalize


def occlude_box(image, box, fill):
    """A copy of uint8 image (3, H, W) with box (top, left, height, width) set to ``fill``."""
    top, left, height, width = (int(v) for v in box)
    out = image.copy()
    out[:, top:top + height, left:left + width] = np.asarray(fill, dtype=image.dtype).reshape(3, 1, 1)
    return out


def hamming_delta(eps):
    """Mean over ordered pairs i != j of the fraction of positions where sign(eps_i) != sign(eps_j).

    eps: (N, D). The mean over ordered pairs equals the mean over unordered ones.
    """
    signs = np.sign(eps)
    n = len(signs)
    total = sum((signs[i] != signs[j]).mean() for i in range(n) for j in range(n) if i != j)
    return float(total / (n * (n - 1)))


def _features(net, images, mean, layers, device):
    net.forward(to_device(normalize(images, mean), device), keep=True)
    return {layer: to_numpy(net.activations[layer]).reshape(len(images), -1).astype(np.float64)
            for layer in layers}


@dataclass
class CorrespondenceResult:
    parts: dict     # part -> {layer: Delta}
    random: dict    # layer -> (mean, std) over random boxes


def correspondence(net, images, boxes, mean, layers=("relu5", "relu7"), random_trials=10, seed=0,
                   device=None):
    """Delta_l for each part and for random boxes.

    images: uint8 (N, 3, H, W); boxes: {part: (N, 4) boxes (top, left, height, width)}.
    Random boxes take the size of each image's first part box, at random places.
    """
    device = device_of_net(net, device)
    fill = np.round(mean.mean(axis=(1, 2)) * 255).astype(np.uint8)
    clean = _features(net, images, mean, layers, device)

    def deltas(part_boxes):
        occluded = np.stack([occlude_box(img, b, fill) for img, b in zip(images, part_boxes)])
        feats = _features(net, occluded, mean, layers, device)
        return {layer: hamming_delta(clean[layer] - feats[layer]) for layer in layers}

    parts = {part: deltas(np.asarray(b)) for part, b in boxes.items()}
    rng = np.random.default_rng(seed)
    sizes = np.asarray(next(iter(boxes.values())))[:, 2:]
    h, w = images.shape[2:]
    trials = []
    for _ in range(random_trials):
        tops = rng.integers(0, h - sizes[:, 0] + 1)
        lefts = rng.integers(0, w - sizes[:, 1] + 1)
        trials.append(deltas(np.column_stack([tops, lefts, sizes])))
    random = {layer: (float(np.mean([t[layer] for t in trials])), float(np.std([t[layer] for t in trials])))
              for layer in layers}
    return CorrespondenceResult(parts, random)
