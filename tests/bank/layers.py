"""A correct "layers" submission, written independently of minizf; the bank edits it."""
import numpy as np

ASSIGNMENT = "layers"


def relu(x):
    return np.where(x > 0, x, 0.0)


def relu_backward(dy, x):
    return np.where(x > 0, dy, 0.0)


def dropout(x, p, rng):
    keep = rng.uniform(size=x.shape) >= p
    mask = keep / (1.0 - p)
    return x * mask, mask


def dropout_backward(dy, mask):
    return dy * mask


def linear(x, W, b=None):
    y = np.einsum("ni,oi->no", x, W)
    return y if b is None else y + b


def linear_backward(dy, x, W):
    return dy @ W, np.einsum("no,ni->oi", dy, x), dy.sum(axis=0)


def softmax_cross_entropy(scores, labels):
    z = scores - scores.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))    # never log of an underflowed 0
    return float(-logp[np.arange(len(labels)), labels].mean()), np.exp(logp)


def softmax_cross_entropy_backward(probs, labels):
    d = probs.copy()
    d[np.arange(len(labels)), labels] -= 1.0
    return d / len(labels)
