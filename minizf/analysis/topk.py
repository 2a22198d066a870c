"""Fig. 2: the 9 strongest activations of a feature map over a dataset, and their projections.

"Top-9" means 9 *different images*: each image offers one candidate per map,
its maximum over positions, and the 9 largest candidates win. The scan keeps
only a running top-k per map, never all activations.
"""
from dataclasses import dataclass

import numpy as np

from ..backend import device_of_net, to_device, to_numpy
from ..data import normalize
from ..deconv import Deconvnet, ReceptiveField, cut_patch, receptive_field
from ..progress import steps

#: What one batch of a scan or of projections may hold in layer outputs: the images per batch follow
#: from the layer sizes, so a 224 px model is scanned in small batches and a 32 px one in large ones.
BATCH_BYTES = 192 << 20


def images_per_batch(net, layer, input_shape, budget=BATCH_BYTES, most=250):
    """How many images fit one batch: every layer up to ``layer`` keeps its input (float32) for the
    backward and the deconvnet, so the batch is the budget over the sum of those sizes."""
    shapes = net.output_shapes(input_shape)
    upto = [name for name, _ in shapes].index(layer) + 1
    values = int(np.prod(input_shape)) + sum(int(np.prod(shape)) for _, shape in shapes[:upto])
    return int(max(1, min(most, budget // (8 * values))))      # 8: the input kept and the output made


@dataclass
class TopK:
    """The k strongest activations of each chosen map: arrays of shape (M, k), best first."""
    layer: str
    channels: np.ndarray    # (M,)
    values: np.ndarray      # (M, k)
    images: np.ndarray      # (M, k) dataset indices
    positions: np.ndarray   # (M, k, 2) row, column in the map


def _merge(values, images, positions, new_values, new_images, new_positions, k):
    """Keep the k largest of the running (M, k) and the new (M, B) candidates."""
    v = np.concatenate([values, new_values], axis=1)
    order = np.argsort(-v, axis=1, kind="stable")[:, :k]
    take = np.take_along_axis
    return (take(v, order, 1), take(np.concatenate([images, new_images], 1), order, 1),
            take(np.concatenate([positions, new_positions], 1), order[..., None], 1))


def map_maxima(acts):
    """Each map's largest activation and where it is: acts (B, M, H, W) -> (B, M) values, (B, M, 2) row, col.
    A fully connected layer's units (B, M) are their own maxima, at position (0, 0)."""
    if acts.ndim == 2:
        return acts, np.zeros(acts.shape + (2,), dtype=np.int64)
    b, m, h, w = acts.shape
    flat = acts.reshape(b, m, h * w)
    arg = flat.argmax(axis=2)
    return np.take_along_axis(flat, arg[..., None], 2)[..., 0], np.stack([arg // w, arg % w], axis=-1)


def top_activations(net, images, mean, layer, channels, k=9, batch_size=None, device=None, progress=None,
                    comm=None):
    """Scan uint8 images (N, 3, H, W) for the k strongest activations of each chosen map (or unit of a
    fully connected layer).

    Returns a TopK; each image appears at most once per map (its maximum).
    batch_size: images per forward (default: as many as ``BATCH_BYTES`` of layer outputs hold).
    progress: an optional callable(done, total) for long scans. comm: a ``minizf.distributed``
    communicator: each rank scans its share of the images and every rank gets the merged TopK.
    """
    device = device_of_net(net, device)
    batch_size = batch_size or images_per_batch(net, layer, images.shape[1:])
    if comm is not None and comm.size > 1:
        return _merged(comm, images, k, lambda part: top_activations(
            net, part, mean, layer, channels, k, batch_size, device, progress))
    channels = np.asarray(channels)
    m = len(channels)
    values = np.full((m, 0), -np.inf, dtype=np.float32)
    found = np.zeros((m, 0), dtype=np.int64)
    positions = np.zeros((m, 0, 2), dtype=np.int64)
    for start in steps(range(0, len(images), batch_size), f"scanning {layer}", unit="batch"):
        x = to_device(normalize(images[start:start + batch_size], mean), device)
        best, pos = map_maxima(to_numpy(net.forward(x, upto=layer))[:, channels])
        b = len(best)
        idx = np.broadcast_to(np.arange(start, start + b)[:, None], (b, m))
        values, found, positions = _merge(values, found, positions, best.T, idx.T,
                                          pos.transpose(1, 0, 2), k)
        if progress:
            progress(min(start + batch_size, len(images)), len(images))
    return TopK(layer, channels, values, found, positions)


def unit_field(net, layer, input_shape):
    """The receptive field of a layer's units; a fully connected unit sees the whole image."""
    shape = dict(net.output_shapes(input_shape))[layer]
    if len(shape) == 3:
        return receptive_field(net, layer, input_shape)
    _, h, w = input_shape
    whole = np.array([[0, h]]), np.array([[0, w]])
    return ReceptiveField(whole[0], whole[1], whole[0], whole[1], (h, w), (h, w))


def _merged(comm, images, k, scan):
    """Scan this rank's share of the images, gather every rank's TopK and merge them (image indices
    made global): the TopK one process would find, ties broken by image order as it breaks them."""
    from ..distributed import gather_shards
    found = gather_shards(comm, len(images), lambda lo, hi: scan(images[lo:hi]))
    first, _ = found[0]
    m = len(first.channels)
    values, where, positions = (np.full((m, 0), -np.inf, np.float32), np.zeros((m, 0), np.int64),
                                np.zeros((m, 0, 2), np.int64))
    for top, offset in found:                   # rank order is image order
        values, where, positions = _merge(values, where, positions, top.values, top.images + offset,
                                          top.positions, k)
    return TopK(first.layer, first.channels, values, where, positions)


def project_top(net, images, mean, top, rule="deconvnet", lrn="skip", device=None):
    """Projections and image patches of a TopK, all in one deconvnet batch.

    Returns (projections (M, k, 3, h, w), patches (M, k, 3, h, w)), both cut to
    the receptive field of each unit; where the field leaves the image,
    projections are 0 and patches mid-grey (0.5). Patches are in [0, 1].
    """
    device = device_of_net(net, device)
    m, k = top.values.shape
    flat_images, channels = top.images.reshape(-1), np.repeat(top.channels, k)
    positions = top.positions.reshape(-1, 2)
    field = unit_field(net, top.layer, images.shape[1:])
    deconv, per = Deconvnet(net), images_per_batch(net, top.layer, images.shape[1:])
    cut_p, cut_i = [], []
    for lo in steps(range(0, len(flat_images), per), f"projecting {top.layer}", unit="batch"):   # chunks: the
        # state of M x k passes at 224 px would be gigabytes
        part = slice(lo, lo + per)
        unique, inverse = np.unique(flat_images[part], return_inverse=True)
        x = to_device(normalize(images[unique], mean), device)
        projections = to_numpy(deconv.project_many(x, top.layer, inverse, channels[part], positions[part], rule,
                                                   lrn))
        for n, (img, (i, j)) in enumerate(zip(flat_images[part], positions[part])):
            cut_p.append(cut_patch(projections[n], field, i, j))
            cut_i.append(cut_patch(images[img].astype(np.float32) / 255.0, field, i, j, fill=0.5))
    net.forget()
    shape = (m, k) + cut_p[0].shape
    return np.stack(cut_p).reshape(shape), np.stack(cut_i).reshape(shape)
