"""Softmax cross-entropy, the loss of the paper's C-way softmax (mean over the batch)."""
from ..backend import get_array_module


def log_softmax(scores):
    """scores (N, C) -> log-probabilities (N, C), stable: z - max z - log sum exp(z - max z)."""
    xp = get_array_module(scores)
    z = scores - scores.max(axis=1, keepdims=True)
    return z - xp.log(xp.exp(z).sum(axis=1, keepdims=True))


def softmax_cross_entropy(scores, labels):
    """scores (N, C), int labels (N,) -> (mean loss as a float, probabilities (N, C))."""
    xp = get_array_module(scores)
    logp = log_softmax(scores)
    n = scores.shape[0]
    loss = -logp[xp.arange(n), labels].mean()
    return float(loss), xp.exp(logp)


def softmax_cross_entropy_backward(probs, labels):
    """d(mean loss)/d scores: probs (N, C), labels (N,) -> (probs - onehot(labels)) / N."""
    xp = get_array_module(probs)
    n = probs.shape[0]
    d = probs.copy()
    d[xp.arange(n), labels] -= 1
    return d / n
