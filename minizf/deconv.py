"""The deconvnet of Sec. 2.1: project chosen activations back to pixel space.

To see what drove one activation: run the image forward (keeping the pooling
switches), zero every other activation of that layer, and pass the layer's
maps down to pixels. On the way down each layer applies its ``reverse`` step,
which for the deconvnet is (i) unpool with the switches, (ii) rectify,
(iii) filter with the transposed filters. These are the very backward
functions training uses (``unpool``, ``relu``, ``conv2d_backward_input``):
nothing is written twice, and nothing is learned.

``receptive_field`` gives, for every unit of a layer, the box of input pixels
that can influence it (the image patch shown beside each projection in Fig. 2).
"""
from dataclasses import dataclass

import numpy as np

from .backend import get_array_module, to_numpy
from .functional import receptive_boxes
from .layers import AdaptiveAvgPool2D, AvgPool2D, Conv2D, MaxPool2D, check_reverse_options


@dataclass
class Selection:
    """The activations a batch of projections started from, one entry per projection."""
    image: np.ndarray      # (K,) index of the image in the batch given to project_many
    channel: np.ndarray    # (K,) feature map (or unit of a fully connected layer)
    position: np.ndarray   # (K, 2) row, column in the map; (-1, -1) for fully connected layers
    value: np.ndarray      # (K,) the activation's value


class Deconvnet:
    """A deconvnet attached to a Sequential: ``Deconvnet(net).project(x, "conv5", channel=12)``."""

    def __init__(self, net):
        self.net = net
        self.selection = None      # the Selection of the last projection

    def project(self, x, layer, channel, position=None, rule="deconvnet", lrn="skip"):
        """One feature map in every image: x (N, C, H, W) -> projections (N, C, H, W).

        position: (row, column) in the map, or None for the strongest position
        of that map in each image. All other activations of ``layer`` are set to
        zero; the chosen one keeps its value.
        """
        n = x.shape[0]
        return self.project_many(x, layer, np.arange(n), np.full(n, channel),
                                 None if position is None else [position] * n, rule, lrn)

    def project_many(self, x, layer, images, channels, positions=None, rule="deconvnet", lrn="skip"):
        """K selections in one batch: x (N, C, H, W) -> projections (K, C, H, W).

        images, channels: (K,) image index into x and feature map of each
        selection; positions: (K, 2) rows and columns, or None for the
        strongest position of each selected map. Each image is run forward
        once; its stored switches are then shared by all its selections.
        """
        check_reverse_options(rule, lrn)
        for what, values in (("image indices", images), ("channels", channels)):
            values = np.asarray(values)
            if values.dtype.kind == "f" and not np.array_equal(values, np.round(values)):
                raise TypeError(f"Deconvnet: {what} must be whole numbers, got {values.tolist()}")
        images, channels = np.asarray(images, dtype=np.intp), np.asarray(channels, dtype=np.intp)
        if images.shape != channels.shape or images.ndim != 1:
            raise ValueError(f"Deconvnet: images {images.shape} and channels {channels.shape} "
                             "must be two 1-D arrays of the same length")
        if images.size and (images.min() < 0 or images.max() >= x.shape[0]):
            raise ValueError(f"Deconvnet: image indices must lie in [0, {x.shape[0]}), got "
                             f"[{images.min()}, {images.max()}]")
        unique, inverse = np.unique(images, return_inverse=True)
        acts = self.net.forward(x[unique], upto=layer)        # switches of each image, once
        self.net.take_batch(inverse)                           # one entry per selection
        signal, self.selection = select_activations(acts[inverse], channels, positions)
        self.selection.image = images
        return self.net.reverse(signal, layer, rule, lrn)


def select_activations(acts, channels, positions=None):
    """Keep one activation per row: acts (K, C, H, W) or (K, F) -> (signal of the same shape, Selection).

    Row k keeps channel ``channels[k]`` at ``positions[k]`` (or at that map's
    maximum when positions is None) and is zero everywhere else.
    """
    xp = get_array_module(acts)
    k = acts.shape[0]
    rows = xp.arange(k)
    ch = xp.asarray(channels)
    if np.any(np.asarray(channels) < 0) or np.any(np.asarray(channels) >= acts.shape[1]):
        raise ValueError(f"Deconvnet: channels must lie in [0, {acts.shape[1]}), got {channels}")
    signal = xp.zeros_like(acts)
    if acts.ndim == 2:                                          # a fully connected layer
        value = acts[rows, ch]
        signal[rows, ch] = value
        pos = np.full((k, 2), -1)
    else:
        width = acts.shape[3]
        maps = acts[rows, ch].reshape(k, -1)                    # (K, H*W)
        if positions is None:
            flat = maps.argmax(axis=1)
        else:
            pos = np.asarray(positions, dtype=np.intp).reshape(k, 2)
            if (pos < 0).any() or (pos[:, 0] >= acts.shape[2]).any() or (pos[:, 1] >= width).any():
                raise ValueError(f"Deconvnet: positions must lie in the {acts.shape[2]}x{width} map")
            flat = xp.asarray(pos[:, 0] * width + pos[:, 1])
        value = maps[rows, flat]
        signal.reshape(k, acts.shape[1], -1)[rows, ch, flat] = value
        flat = to_numpy(flat)
        pos = np.stack([flat // width, flat % width], axis=1)
    return signal, Selection(np.arange(k), to_numpy(ch), pos, to_numpy(value))


# ----------------------------------------------------------------------------
# Receptive fields
# ----------------------------------------------------------------------------
@dataclass
class ReceptiveField:
    """Input boxes of every unit of a layer; ``rows[i]`` = [top, bottom), ``cols[j]`` = [left, right).

    ``rows``/``cols`` are clipped to the image; ``rows_full``/``cols_full`` are not
    (they may start below 0 or end past the edge, where padding was read).
    """
    rows: np.ndarray        # (OH, 2)
    cols: np.ndarray        # (OW, 2)
    rows_full: np.ndarray   # (OH, 2)
    cols_full: np.ndarray   # (OW, 2)
    size: tuple             # unclipped (height, width) of every box
    jump: tuple             # input pixels between neighbouring units (the product of strides)

    def box(self, i, j, clip=True):
        """(top, bottom, left, right) of unit (i, j), bottom and right exclusive."""
        rows, cols = (self.rows, self.cols) if clip else (self.rows_full, self.cols_full)
        return int(rows[i, 0]), int(rows[i, 1]), int(cols[j, 0]), int(cols[j, 1])


def _windows(net, layer):
    """(kernel, stride, pad) pairs of the spatial layers up to ``layer``, first to last."""
    found = []
    for name, lay in net:
        if isinstance(lay, (Conv2D, MaxPool2D, AvgPool2D)):
            found.append((lay.kernel_size, lay.stride, lay.pad))
        if isinstance(lay, AdaptiveAvgPool2D):
            raise ValueError(f"receptive_field: {name!r} pools adaptively (its windows depend on the input "
                             f"size); receptive fields are defined for the layers below it")
        if name == layer:
            return found
    raise KeyError(f"no layer named {layer!r}")


def _span_step(lay, name, lo, hi, axis):
    """One layer's [lo, hi) output spans -> the input spans they read, along one axis."""
    if isinstance(lay, AdaptiveAvgPool2D):
        raise ValueError(f"receptive_field: {name!r} pools adaptively (its windows depend on the input "
                         f"size); receptive fields are defined for the layers below it")
    if isinstance(lay, (Conv2D, MaxPool2D, AvgPool2D)):
        k, s, p = lay.kernel_size[axis], lay.stride[axis], lay.pad[axis]
        return lo * s - p, (hi - 1) * s + k - p
    return lo, hi


def _graph_spans(net, layer, size, axis):
    """(size, 2) input spans of the units of ``layer`` in a Graph: each node maps the spans its
    readers need to the spans of its inputs, and a fork takes the union of what its readers need
    (a unit of a residual block sees what its widest path sees)."""
    arriving = {layer: (np.arange(size), np.arange(size) + 1)}
    for name in reversed(net.ancestors(layer)):
        lo, hi = _span_step(net[name], name, *arriving.pop(name), axis)
        for i in net.inputs[name]:
            if i in arriving:
                lo, hi = np.minimum(arriving[i][0], lo), np.maximum(arriving[i][1], hi)
            arriving[i] = (lo, hi)
    lo, hi = arriving["input"]
    return np.stack([lo, hi], axis=1)


def receptive_field(net, layer, input_shape=None):
    """Receptive fields of every output position of ``layer`` (a conv, ReLU, pool or LRN layer).

    Per layer, outputs [a, b) read inputs [a*s - p, (b-1)*s + k - p); composing
    these down to the image gives each unit's box. ReLU and LRN do not change
    it; ceil-mode pooling is covered because its output count comes from the
    network's own shapes. input_shape: (C, H, W), default ``net.input_shape``.
    """
    input_shape = input_shape or net.input_shape
    if input_shape is None:
        raise ValueError("receptive_field: give input_shape (C, H, W); the network does not know it")
    out_shape = dict(net.output_shapes(input_shape))[layer]
    if len(out_shape) != 3:
        raise ValueError(f"receptive_field: {layer!r} has output {out_shape}, not (C, H, W) maps; "
                         "a unit of a fully connected layer sees the whole image")
    if hasattr(net, "ancestors"):          # a Graph: every path down to the image
        return _graph_field(net, layer, out_shape, input_shape)
    windows = _windows(net, layer)
    axes = []
    for axis in (0, 1):
        full = receptive_boxes([(k[axis], s[axis], p[axis]) for k, s, p in windows], out_shape[1 + axis])
        size, jump = 1, 1
        for kernel, stride, _ in windows:        # closed form: 1 + sum (k_i - 1) * J_{i-1}
            size += (kernel[axis] - 1) * jump
            jump *= stride[axis]
        axes.append((np.clip(full, 0, input_shape[1 + axis]), full, size, jump))
    (rows, rows_full, h, jh), (cols, cols_full, w, jw) = axes
    return ReceptiveField(rows, cols, rows_full, cols_full, (h, w), (jh, jw))


def _graph_field(net, layer, out_shape, input_shape):
    axes = []
    for axis in (0, 1):
        full = _graph_spans(net, layer, out_shape[1 + axis], axis)
        size = int((full[:, 1] - full[:, 0]).max())
        jump = int(full[1, 0] - full[0, 0]) if len(full) > 1 else 1
        axes.append((np.clip(full, 0, input_shape[1 + axis]), full, size, jump))
    (rows, rows_full, h, jh), (cols, cols_full, w, jw) = axes
    return ReceptiveField(rows, cols, rows_full, cols_full, (h, w), (jh, jw))


def cut_patch(image, field, i, j, fill=0.0):
    """The receptive field of unit (i, j) cut from image (C, H, W), filled with ``fill`` where the
    box hangs over the border, so every patch of a layer has the same size: (C, h, w)."""
    top, bottom, left, right = field.box(i, j, clip=False)
    c, height, width = image.shape
    patch = np.full((c, bottom - top, right - left), fill, dtype=np.asarray(to_numpy(image)).dtype)
    t, b, l, r = max(top, 0), min(bottom, height), max(left, 0), min(right, width)
    if t < b and l < r:
        patch[:, t - top:b - top, l - left:r - left] = to_numpy(image[:, t:b, l:r])
    return patch
