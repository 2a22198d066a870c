"""Sec. 5.2, Tables 4-5 and Fig. 9: features that generalise to few examples.

Keep layers 1-7 of the trained model fixed and train only a new softmax
classifier on top, with a handful of images per class (15 or 30 on
Caltech-101). The paper's pretrained features reach 86.5% on Caltech-101 with
30 images per class, where the same network trained from scratch on those
images reaches 46.5%; Fig. 9 plots accuracy against the number of training
images per class.

The score, as for Caltech: the mean over classes of each class's accuracy,
averaged over several random splits ("folds"), each with ``per_class``
training images and up to ``test_per_class`` other test images per class.
"""
import tempfile
from dataclasses import dataclass

import numpy as np

from .. import models
from ..data import ArrayDataset
from ..train import TrainConfig, Trainer, predict
from .features import layer_features, linear_probe


def few_shot_split(labels, per_class, test_per_class, rng):
    """(train indices, test indices): per class, ``per_class`` random images to train on and up to
    ``test_per_class`` of the others to test on. Raises ValueError when a class has too few images."""
    train, test = [], []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        if len(members) <= per_class:
            raise ValueError(f"class {c} has {len(members)} images: too few for {per_class} "
                             "training images and at least one test image")
        train.append(members[:per_class])
        test.append(members[per_class:per_class + test_per_class])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def mean_class_accuracy(labels, predictions):
    """The mean over the classes present in ``labels`` of the fraction of each predicted right."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    return float(np.mean([(predictions[labels == c] == c).mean() for c in np.unique(labels)]))


@dataclass
class TransferResult:
    """Scores (mean class accuracy) of one training-set size, one per fold."""
    per_class: int
    pretrained: list                      # softmax on the frozen layer's features
    scratch: list = None                  # the whole network trained on the same images (or None)

    @staticmethod
    def summary(scores):
        return (float(np.mean(scores)), float(np.std(scores))) if scores else (None, None)


def train_from_scratch(model, options, train_set, epochs, seed=0, device="cpu"):
    """A fresh network of the same architecture trained on ``train_set`` only -> (net, mean image)."""
    net = models.build(model, **dict(options, num_classes=len(train_set.classes)))
    config = TrainConfig(epochs=epochs, batch_size=min(128, len(train_set)), seed=seed, snapshots=())
    with tempfile.TemporaryDirectory(prefix="minizf_scratch_") as out:
        trainer = Trainer(net, model, train_set, None, config, out, options, progress=False,
                          log=lambda *_: None, device=device)
        trainer.run()
    return net, trainer.mean


def transfer(net, mean, dataset, per_class=(15, 30), test_per_class=50, folds=5, layer="relu7",
             probe_epochs=60, scratch_epochs=0, model_name=None, model_options=None, seed=0,
             log=print, device="cpu"):
    """Tables 4-5 / Fig. 9 on ``dataset`` (an ArrayDataset at the net's input size) -> [TransferResult].

    The features of every image are computed once (``layer``, conv maps
    pooled as in ``layer_features``); each fold then trains a softmax on its
    training images' features. scratch_epochs > 0 also trains the whole
    architecture (``model_name``, ``model_options``) from scratch on each
    fold's images, the paper's comparison (slow: one training run per fold).
    """
    features = layer_features(net, dataset.images, mean, [layer], device=device)[layer]
    labels, classes = dataset.labels, len(dataset.classes)
    results = []
    for n in per_class:
        result = TransferResult(n, [], [] if scratch_epochs else None)
        for fold in range(folds):
            train, test = few_shot_split(labels, n, test_per_class, np.random.default_rng([seed, n, fold]))
            probe = linear_probe(features[train], labels[train], features[test], labels[test], classes,
                                 epochs=probe_epochs, batch_size=64, seed=fold)
            result.pretrained.append(mean_class_accuracy(labels[test], probe.test_predictions))
            if scratch_epochs:
                part = ArrayDataset(dataset.images[train], labels[train], dataset.classes, "few-shot")
                fresh, fresh_mean = train_from_scratch(model_name, model_options or {}, part,
                                                       scratch_epochs, seed=fold, device=device)
                guess = predict(fresh, dataset.images[test], fresh_mean, device=device).argmax(axis=1)
                result.scratch.append(mean_class_accuracy(labels[test], guess))
        pre, scr = TransferResult.summary(result.pretrained), TransferResult.summary(result.scratch)
        log(f"{n} per class: pretrained {pre[0]:.3f} +- {pre[1]:.3f}"
            + (f", from scratch {scr[0]:.3f} +- {scr[1]:.3f}" if scratch_epochs else ""))
        results.append(result)
    return results

