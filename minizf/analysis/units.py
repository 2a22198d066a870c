"""Every unit of a layer over a set of images: each image's strongest response per unit.

The unit explorer (``minizf explore``) shows, for every unit (feature map) of
a layer, its top-9 images and the distribution of its responses; both come
from one scan that keeps, per image and unit, the maximum over positions and
where it was.
"""
from dataclasses import dataclass

import numpy as np

from ..backend import device_of_net, to_device, to_numpy
from ..data import normalize
from .topk import TopK, images_per_batch, map_maxima


@dataclass
class UnitScan:
    """Per image and unit of one layer: the largest response and its position."""
    layer: str
    maxima: np.ndarray      # (N, C) float32
    positions: np.ndarray   # (N, C, 2) row, column in the map

    def top(self, k=9):
        """The TopK of every unit: the k images with the largest maxima, best first."""
        order = np.argsort(-self.maxima, axis=0, kind="stable")[:k].T              # (C, k)
        channels = np.arange(self.maxima.shape[1])
        values = np.take_along_axis(self.maxima.T, order, axis=1)
        positions = self.positions.transpose(1, 0, 2)[channels[:, None], order]     # (C, k, 2)
        return TopK(self.layer, channels, values, order, positions)


def scan_units(net, images, mean, layer, batch_size=None, device=None, progress=None, comm=None):
    """uint8 images (N, 3, H, W) -> UnitScan of every unit of ``layer`` (maps (C, H, W), or the units of a
    fully connected layer, at position (0, 0)); batch_size: default ``images_per_batch``. comm: a
    ``minizf.distributed`` communicator: each rank scans its share, every rank gets the whole scan."""
    device = device_of_net(net, device)
    batch_size = batch_size or images_per_batch(net, layer, images.shape[1:])
    if comm is not None and comm.size > 1:
        from ..distributed import gather_shards
        parts = [p for p, _ in gather_shards(comm, len(images), lambda lo, hi: scan_units(
            net, images[lo:hi], mean, layer, batch_size, device, progress))]
        return UnitScan(layer, np.concatenate([p.maxima for p in parts]),
                        np.concatenate([p.positions for p in parts]))
    maxima, positions = [], []
    for start in range(0, len(images), batch_size):
        x = to_device(normalize(images[start:start + batch_size], mean), device)
        acts = to_numpy(net.forward(x, upto=layer))
        if acts.ndim not in (2, 4):
            raise ValueError(f"scan_units: {layer!r} gives {acts.shape[1:]}, not feature maps (C, H, W) or units")
        best, where = map_maxima(acts)
        maxima.append(best)
        positions.append(where)
        if progress:
            progress(min(start + batch_size, len(images)), len(images))
    return UnitScan(layer, np.concatenate(maxima), np.concatenate(positions))
