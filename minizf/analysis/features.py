"""Sec. 5, Table 7: how well each layer's features separate the classes.

Freeze a trained network, take one layer's activations as the features of
an image, and train only a softmax classifier on them (a *linear probe*).
In the paper (Table 7, and Tables 4-5 on Caltech) accuracy rises with the
depth of the layer: higher layers hold more class-specific features.

A conv layer's maps are average-pooled to a small grid first, so that every
layer gives a feature vector of a few thousand numbers at most (the paper's
classifiers also saw spatially pooled lower layers).
"""
from dataclasses import dataclass

import numpy as np

from ..backend import device_of_net, to_device, to_numpy
from ..data import normalize
from ..layers import Linear, MulticlassHinge, SoftmaxCrossEntropy
from ..net import Sequential
from ..train import SGD


def pool_to_grid(maps, grid):
    """Average over grid x grid equal blocks: (N, C, H, W) -> (N, C, grid, grid); H, W multiples of grid."""
    N, C, H, W = maps.shape
    if H % grid or W % grid:
        raise ValueError(f"pool_to_grid: maps of {H}x{W} do not split into a {grid}x{grid} grid")
    return maps.reshape(N, C, grid, H // grid, grid, W // grid).mean(axis=(3, 5))


def over_layers(net, images, mean, layers, reduce, batch_size=250, device=None, comm=None):
    """{layer: reduce(layer, activations (B, ...)) of every batch, concatenated}: one forward
    pass per batch of uint8 images (N, 3, H, W) serves every layer in ``layers``. comm: a
    ``minizf.distributed`` communicator: each rank takes its share of the images, every rank
    gets all of the results, in image order."""
    if comm is not None and comm.size > 1:
        from ..distributed import gather_shards
        parts = [p for p, _ in gather_shards(comm, len(images), lambda lo, hi: over_layers(
            net, images[lo:hi], mean, layers, reduce, batch_size, device))]
        return {layer: np.concatenate([p[layer] for p in parts]) for layer in layers}
    device = device_of_net(net, device)
    deepest = max(layers, key=net.index)
    parts = {layer: [] for layer in layers}
    for start in range(0, len(images), batch_size):
        x = to_device(normalize(images[start:start + batch_size], mean), device)
        net.forward(x, keep=True, upto=deepest)
        for layer in layers:
            parts[layer].append(reduce(layer, to_numpy(net.activations[layer])))
    net.forget()                        # the last batch's activations are no result of the scan
    return {layer: np.concatenate(p) for layer, p in parts.items()}


def layer_features(net, images, mean, layers, grid=4, batch_size=250, device=None, comm=None):
    """uint8 images (N, 3, H, W) -> {layer: features (N, D) float32}, conv maps pooled to grid x grid
    (comm: split the images over MPI ranks, as ``over_layers``)."""
    def flat(_, out):
        if out.ndim == 4 and out.shape[2] > grid:
            out = pool_to_grid(out, grid)
        return out.reshape(len(out), -1)
    return over_layers(net, images, mean, layers, flat, batch_size, device, comm)


def feature_analysis(net, train, test, mean, layers, epochs=30, grid=4, device=None, classifier="softmax"):
    """Table 7: a linear probe per layer. train, test: (uint8 images, labels) -> {layer: ProbeResult}."""
    train_f = layer_features(net, train[0], mean, layers, grid, device=device)
    test_f = layer_features(net, test[0], mean, layers, grid, device=device)
    num_classes = int(max(train[1].max(), test[1].max())) + 1
    return {layer: linear_probe(train_f[layer], train[1], test_f[layer], test[1], num_classes, epochs,
                                classifier=classifier)
            for layer in layers}


@dataclass
class ProbeResult:
    train_accuracy: float
    test_accuracy: float
    losses: list          # mean training loss per epoch
    test_predictions: np.ndarray = None   # the class predicted for each test row


#: The classifiers of Table 7: a softmax (cross-entropy) or a linear SVM (one-vs-rest hinge).
CLASSIFIERS = {"softmax": SoftmaxCrossEntropy, "svm": MulticlassHinge}


def linear_probe(train_x, train_y, test_x, test_y, num_classes, epochs=30, lr=0.05,
                 weight_decay=1e-3, batch_size=128, seed=0, classifier="softmax"):
    """A linear classifier on frozen features: train_x (N, D), test_x (M, D) -> ProbeResult.

    Features are standardised with the training set's mean and std (so one
    learning rate suits every layer), then a Linear layer is trained with
    SGD, momentum 0.9 and weight decay, by minizf's own forward and backward,
    with the loss of ``classifier``: "softmax" or "svm" (a linear SVM).
    """
    if classifier not in CLASSIFIERS:
        raise ValueError(f"classifier must be one of {sorted(CLASSIFIERS)}, got {classifier!r}")
    mu, sd = train_x.mean(axis=0), train_x.std(axis=0) + 1e-6
    train_x, test_x = (train_x - mu) / sd, (test_x - mu) / sd
    rng = np.random.default_rng(seed)
    probe = Sequential([("fc", Linear(train_x.shape[1], num_classes, weight_std=0.01, rng=rng,
                                      dtype=train_x.dtype))])
    ce, sgd = CLASSIFIERS[classifier](), SGD(0.9, weight_decay)
    losses = []
    for _ in range(epochs):
        order, total = rng.permutation(len(train_x)), 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            total += ce.forward(probe.forward(train_x[idx]), train_y[idx]) * len(idx)
            probe.backward(ce.backward())
            sgd.step(probe, lr)
        losses.append(total / len(order))

    train_pred, test_pred = probe.forward(train_x).argmax(axis=1), probe.forward(test_x).argmax(axis=1)
    return ProbeResult(float((train_pred == train_y).mean()), float((test_pred == test_y).mean()), losses,
                       test_pred)
