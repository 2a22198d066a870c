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


def one_vs_rest_hinge(scores, labels, margin=1.0):
    """The linear SVM's loss, one binary SVM per class trained at once (one-vs-rest):
    scores (N, C), int labels (N,) -> (mean over the batch of sum_j max(0, margin - t_ij s_ij),
    the margins (N, C)), with t_ij = +1 for the true class and -1 for the others.
    """
    xp = get_array_module(scores)
    signs = -xp.ones_like(scores)
    signs[xp.arange(scores.shape[0]), labels] = 1
    margins = margin - signs * scores
    return float(xp.maximum(margins, 0).sum(axis=1).mean()), margins


def one_vs_rest_hinge_backward(margins, labels):
    """d(mean loss)/d scores: -t_ij / N where the margin is violated (margin_ij > 0), else 0."""
    xp = get_array_module(margins)
    n = margins.shape[0]
    signs = -xp.ones_like(margins)
    signs[xp.arange(n), labels] = 1
    return -signs * (margins > 0) / n
