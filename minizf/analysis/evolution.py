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
