"""Fig. 4: how features evolve during training.

For each training snapshot and each chosen (layer, map), the strongest
activation over a fixed image set is projected to pixels. Rows are maps,
columns epochs.
"""
import numpy as np

from ..progress import steps
from .features import over_layers
from .topk import project_top, top_activations


def evolution(snapshots, images, choices, rule="deconvnet", device=None):
    """snapshots: list of (epoch, net, mean); choices: list of (layer, channel).

    Returns (epochs (E,), projections (len(choices), E, 3, h_l, w_l) as a list of
    per-choice arrays, since layers differ in receptive-field size).
    """
    epochs = [epoch for epoch, _, _ in snapshots]
    rows = [[] for _ in choices]
    layers = list(dict.fromkeys(layer for layer, _ in choices))
    for _, net, mean in steps(snapshots, "Fig. 4 projections", unit="snapshot"):
        for layer in layers:            # one scan and one deconvnet batch per layer and snapshot
            picked = [r for r, (l, _) in enumerate(choices) if l == layer]
            top = top_activations(net, images, mean, layer, [choices[r][1] for r in picked], k=1, device=device)
            projections, _ = project_top(net, images, mean, top, rule=rule, device=device)
            for m, r in enumerate(picked):
                rows[r].append(projections[m, 0])
    return np.asarray(epochs), [np.stack(row) for row in rows]


def map_responses(net, images, mean, channels, batch_size=250, device=None):
    """Each chosen map's strongest activation in each image, for several layers in one pass:
    channels {layer: (M,) maps} -> {layer: (N, M)}, for uint8 images (N, 3, H, W)."""
    def strongest(layer, acts):
        acts = acts[:, np.asarray(channels[layer])]
        return acts.reshape(acts.shape[0], acts.shape[1], -1).max(axis=2)
    return over_layers(net, images, mean, list(channels), strongest, batch_size, device)


def _correlations(a, b):
    """Correlation of each column of a with the same column of b (0 where one is constant)."""
    return [np.corrcoef(a[:, m], b[:, m])[0, 1] if a[:, m].std() > 0 and b[:, m].std() > 0 else 0.0
            for m in range(a.shape[1])]


def response_similarity(snapshots, images, channels, device=None):
    """How much each layer still changes from one snapshot to the next: channels {layer: (M,)
    maps} -> {layer: (E - 1,) mean over the maps of the correlation between a map's per-image
    responses at snapshot i and at snapshot i + 1}.

    1 means the map ranks the images as it did at the previous snapshot; a map that is still
    changing what it responds to has a lower correlation. Consecutive snapshots, not each against
    the last: against the last, the last snapshot would always look settled.
    """
    responses = [map_responses(net, images, mean, channels, device=device)
                 for _, net, mean in steps(snapshots, "Fig. 4 responses", unit="snapshot")]
    return {layer: np.array([float(np.mean(_correlations(a[layer], b[layer])))
                             for a, b in zip(responses[:-1], responses[1:])])
            for layer in channels}
