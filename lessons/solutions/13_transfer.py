"""Solutions to the exercises of lesson 13."""
import numpy as np


def per_class_split(labels, per_class, test_per_class, rng):
    train, test = [], []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        train.append(members[:per_class])
        test.append(members[per_class:per_class + test_per_class])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def mean_class_accuracy_by_hand(labels, predictions):
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    return float(np.mean([(predictions[labels == c] == c).mean() for c in np.unique(labels)]))
