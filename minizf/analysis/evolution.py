"""Fig. 4: how features evolve during training.

For each training snapshot and each chosen (layer, map), the strongest
activation over a fixed image set is projected to pixels. Rows are maps,
columns epochs.
"""
import numpy as np

from .topk import project_top, top_activations


def evolution(snapshots, images, choices, rule="deconvnet", device="cpu"):
    """snapshots: list of (epoch, net, mean); choices: list of (layer, channel).

    Returns (epochs (E,), projections (len(choices), E, 3, h_l, w_l) as a list of
    per-choice arrays, since layers differ in receptive-field size).
    """
    epochs = [epoch for epoch, _, _ in snapshots]
    rows = [[] for _ in choices]
    for _, net, mean in snapshots:
        for r, (layer, channel) in enumerate(choices):
            top = top_activations(net, images, mean, layer, [channel], k=1, device=device)
            projections, _ = project_top(net, images, mean, top, rule=rule, device=device)
            rows[r].append(projections[0, 0])
    return np.asarray(epochs), [np.stack(row) for row in rows]


def map_responses(net, images, mean, layer, channels, batch_size=250, device="cpu"):
    """Each chosen map's strongest activation in each image: (N, M), for uint8 images (N, 3, H, W)."""
    from ..backend import to_device, to_numpy
    from ..data import normalize
    out = []
    for start in range(0, len(images), batch_size):
        x = to_device(normalize(images[start:start + batch_size], mean), device)
        acts = to_numpy(net.forward(x, upto=layer))[:, np.asarray(channels)]
        out.append(acts.reshape(acts.shape[0], acts.shape[1], -1).max(axis=2))
    return np.concatenate(out)


def response_similarity(snapshots, images, layer, channels, device="cpu"):
    """How far each snapshot's maps are from their final state: (E,) mean over the maps of the
    correlation between a map's per-image responses at a snapshot and at the last snapshot.

    1 means the map already ranks the images as it will at the end; a map that
    is still changing what it responds to has a lower correlation.
    """
    responses = [map_responses(net, images, mean, layer, channels, device=device) for _, net, mean in snapshots]
    final = responses[-1]
    similarity = []
    for r in responses:
        corr = [np.corrcoef(r[:, m], final[:, m])[0, 1] if r[:, m].std() > 0 and final[:, m].std() > 0 else 0.0
                for m in range(final.shape[1])]
        similarity.append(float(np.mean(corr)))
    return np.array(similarity)
