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
from ..backend import device_of_net
from ..data import ArrayDataset
from ..train import TrainConfig, Trainer, predict
from .features import layer_features, linear_probe


#: The paper's Caltech-101 numbers (mean class accuracy, %, mean and std over 5 folds).
PAPER_TABLE4 = {15: {"pretrained": (83.8, 0.5), "scratch": (22.8, 1.5)},
                30: {"pretrained": (86.5, 0.5), "scratch": (46.5, 1.7)}}
#: Table 7 at 30 images per class: layer number -> accuracy (%) of a linear SVM / a softmax.
PAPER_TABLE7 = {"svm": {1: 44.8, 2: 66.2, 3: 72.3, 4: 76.6, 5: 86.2, 7: 85.5}, "softmax": {5: 82.9, 7: 85.4}}


def transfer_verdict(results):
    """Tables 4-5, Fig. 9: pretrained features beat training from scratch by a wide margin at
    every training-set size (the best probe's mean ahead of the scratch mean by more than
    both folds' spreads together). results: [TransferResult] with scratch scores."""
    from .verdicts import Verdict
    ahead, numbers = [], []
    for r in results:
        best = max(r.probes, key=lambda k: np.mean(r.probes[k]))
        p, s = r.probes[best], r.scratch
        ahead.append(np.mean(p) - np.mean(s) > np.std(p) + np.std(s))
        numbers.append(f"{r.per_class}/class: {best} {np.mean(p):.3f} vs scratch {np.mean(s):.3f}")
    return Verdict("Table 4, Fig. 9", "features pretrained on ImageNet and a new linear classifier beat the "
                   "same network trained from scratch by a wide margin (86.5% vs 46.5% at 30/class)",
                   "; ".join(numbers), bool(all(ahead)),
                   "a model pretrained on 10 classes has narrow features, far from ImageNet's 1000 classes")


def depth_verdict(scores):
    """Table 7: accuracy rises with depth. scores: {layer: mean accuracy}, bottom to top; holds when
    the top two layers beat every layer below them."""
    from .verdicts import Verdict
    values = list(scores.values())
    holds = len(values) >= 3 and min(values[-2:]) > max(values[:-2])
    return Verdict("Table 7", "a linear classifier on deeper layers' features is more accurate (SVM: "
                   "44.8% on layer 1 up to 86.2% on layer 5)",
                   ", ".join(f"{k} {v:.3f}" for k, v in scores.items()), bool(holds),
                   "the upper layers of a model pretrained on 10 classes specialise in those classes, "
                   "while the lower layers' generic edges and textures carry over")


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
    pretrained: list                      # the first probe (first layer, first classifier)
    scratch: list = None                  # the whole network trained on the same images (or None)
    probes: dict = None                   # "layer classifier" (e.g. "relu5 svm") -> scores of each probe

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


def _scratch_fold(fold, scratch_folds):
    """Whether fold (from 0) trains from scratch: every fold, the first N, or those listed."""
    if scratch_folds is None:
        return True
    if isinstance(scratch_folds, int):
        return fold < scratch_folds
    return fold in scratch_folds


def transfer(net, mean, dataset, per_class=(15, 30), test_per_class=50, folds=5, layer="relu7",
             probe_epochs=60, scratch_epochs=0, model_name=None, model_options=None, seed=0,
             log=print, device=None, layers=None, classifiers=("softmax",), progress=False, scratch_folds=None,
             comm=None):
    """Tables 4-5, 7 and Fig. 9 on ``dataset`` (an ArrayDataset at the net's input size) -> [TransferResult].

    The features of every image are computed once for each of ``layers``
    (default: just ``layer``; conv maps pooled as in ``layer_features``); each
    fold then trains a linear classifier of each kind in ``classifiers``
    ("softmax", "svm") on its training images' features. Fold f of n images
    per class draws its split from the seed (seed, n, f), so every run (and
    every layer and classifier) sees the same splits. scratch_epochs > 0 also
    trains the whole architecture (``model_name``, ``model_options``) from
    scratch on each fold's images, the paper's comparison (slow: one training
    run per fold; ``scratch_folds`` limits it to the first N folds, or to a set of fold indices
    from 0, so a long comparison can be split over several runs). comm: extract the features over
    MPI ranks (``minizf.distributed``); rank 0 trains the classifiers, the others return None.
    """
    from tqdm import tqdm
    device = device_of_net(net, device)
    layers = tuple(layers or (layer,))
    features = layer_features(net, dataset.images, mean, list(layers), device=device, comm=comm)
    if comm is not None and comm.rank:
        return None
    labels, classes = dataset.labels, len(dataset.classes)
    keys = [f"{l} {c}" for l in layers for c in classifiers]
    results = []
    steps = tqdm(total=len(per_class) * folds, desc="transfer folds", disable=not progress, unit="fold")
    for n in per_class:
        probes = {key: [] for key in keys}
        result = TransferResult(n, probes[keys[0]], [] if scratch_epochs else None, probes)
        for fold in range(folds):
            train, test = few_shot_split(labels, n, test_per_class, np.random.default_rng([seed, n, fold]))
            for key in keys:
                lay, kind = key.split(" ")
                probe = linear_probe(features[lay][train], labels[train], features[lay][test], labels[test],
                                     classes, epochs=probe_epochs, batch_size=64, seed=fold, classifier=kind)
                probes[key].append(mean_class_accuracy(labels[test], probe.test_predictions))
            if scratch_epochs and _scratch_fold(fold, scratch_folds):
                part = ArrayDataset(dataset.images[train], labels[train], dataset.classes, "few-shot")
                fresh, fresh_mean = train_from_scratch(model_name, model_options or {}, part,
                                                       scratch_epochs, seed=fold, device=device)
                guess = predict(fresh, dataset.images[test], fresh_mean, device=device).argmax(axis=1)
                result.scratch.append(mean_class_accuracy(labels[test], guess))
            steps.update()
        scr = TransferResult.summary(result.scratch)
        log(f"{n} per class: " + ", ".join(f"{key} {np.mean(v):.3f} +- {np.std(v):.3f}" for key, v in probes.items())
            + (f", from scratch {scr[0]:.3f} +- {scr[1]:.3f}" if scratch_epochs else ""))
        results.append(result)
    steps.close()
    return results
