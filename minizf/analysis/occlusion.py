"""Fig. 7 (Sec. 4.2): is the classifier looking at the object, or at its context?

A grey square (the dataset's mean colour) slides over the image. At each
position we record, for the occluded image:
(b) the total activation of the feature map of ``layer`` that is strongest in
    the unoccluded image, (d) the probability of the correct class, and
(e) the most probable class; plus (c) the projection of that map for the
unoccluded image. All positions go through the network in batches.
"""
from dataclasses import dataclass

import numpy as np

from ..backend import device_of_net, to_device, to_numpy
from ..data import normalize
from ..deconv import Deconvnet
from ..functional import log_softmax
from ..progress import steps
from .topk import images_per_batch


#: Fig. 7's occluder sides as shares of the image's side, smallest first: whether the paper's
#: effect shows depends on how much of the object one square hides, so the figure sweeps them.
OCCLUDER_FRACTIONS = (1 / 8, 1 / 5, 1 / 3)


def occluder_sizes(side, fractions=OCCLUDER_FRACTIONS):
    """[(square side, stride)] for images of ``side`` pixels: each fraction of the side, all
    moved in steps of 1/16 of the side (at least 1 pixel), so every size probes the same grid."""
    sizes = sorted({max(1, round(side * f)) for f in fractions})
    return [(size, max(1, side // 16)) for size in sizes]


@dataclass
class OcclusionResult:
    rows: np.ndarray          # (R,) top row of the square at each grid row
    cols: np.ndarray          # (S,) left column of the square at each grid column
    activation: np.ndarray    # (R, S) total activation of the strongest map
    prob_true: np.ndarray     # (R, S) probability of the true class
    top_class: np.ndarray     # (R, S) most probable class
    channel: int              # the strongest map of the unoccluded image
    projection: np.ndarray    # (3, H, W) that map's projection (unoccluded image)
    prob_true_clean: float
    size: int
    layer: str = "relu5"      # the layer of the tracked map


def occluded_images(image, size, stride, fill):
    """All occlusions of one uint8 image (3, H, W): (R*S, 3, H, W), plus the grid rows and cols."""
    _, h, w = image.shape
    if not (1 <= size <= min(h, w)) or stride < 1:
        raise ValueError(f"occlusion: the square's side must lie in [1, {min(h, w)}] (the image is {h}x{w}) "
                         f"and its stride be at least 1, got size {size}, stride {stride}")
    rows = np.arange(0, h - size + 1, stride)
    cols = np.arange(0, w - size + 1, stride)
    batch = np.repeat(image[None], len(rows) * len(cols), axis=0)
    for n, (r, c) in enumerate((r, c) for r in rows for c in cols):
        batch[n, :, r:r + size, c:c + size] = np.asarray(fill, dtype=image.dtype).reshape(3, 1, 1)
    return batch, rows, cols


def occlusion(net, image, label, mean, layer="relu5", size=8, stride=2, batch_size=None, device=None):
    """Occlusion maps of one uint8 image (3, H, W) of class ``label``; returns an OcclusionResult.
    batch_size: occluded images per forward (default: as many as a bounded amount of memory holds,
    every layer's output being kept)."""
    device = device_of_net(net, device)
    batch_size = batch_size or images_per_batch(net, net.names[-1], image.shape, most=128)
    fill = np.round(mean.mean(axis=(1, 2)) * 255).astype(np.uint8)    # the mean colour
    x0 = to_device(normalize(image[None], mean), device)
    scores = net.forward(x0, keep=True)
    maps = to_numpy(net.activations[layer])[0]                          # (C, h, w)
    channel = int(maps.reshape(len(maps), -1).max(axis=1).argmax())
    prob_clean = float(np.exp(to_numpy(log_softmax(scores)))[0, label])
    projection = to_numpy(Deconvnet(net).project(x0, layer, channel))[0]
    batch, rows, cols = occluded_images(image, size, stride, fill)
    activation, prob_true, top_class = [], [], []
    for start in steps(range(0, len(batch), batch_size), f"occluding ({size} px squares)", unit="batch"):
        x = to_device(normalize(batch[start:start + batch_size], mean), device)
        probs = np.exp(to_numpy(log_softmax(net.forward(x, keep=True))))
        activation.append(to_numpy(net.activations[layer][:, channel]).sum(axis=(1, 2)))
        prob_true.append(probs[:, label])
        top_class.append(probs.argmax(axis=1))
    net.forget()
    shape = (len(rows), len(cols))
    return OcclusionResult(rows, cols, np.concatenate(activation).reshape(shape),
                           np.concatenate(prob_true).reshape(shape),
                           np.concatenate(top_class).reshape(shape), channel, projection,
                           prob_clean, size, layer)
