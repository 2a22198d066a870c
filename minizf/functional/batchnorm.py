"""Batch normalisation (Ioffe & Szegedy, 2015), per channel over the batch and the positions.

    y = gamma * (x - mu) / sqrt(var + eps) + beta

Training normalises with the batch's own mean and (biased) variance, so every
output depends on every input of its channel: the backward has a term for the
mean and one for the variance. Inference uses fixed running statistics; it is
then an affine map per channel, whose transpose (the deconvnet's and the
gradient's way down) is the per-channel scale gamma / sqrt(var + eps).
"""
from ..backend import get_array_module


def _per_channel(v, ndim):
    """A (C,) vector shaped to broadcast over (N, C, ...)."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _axes(x):
    """Every axis but the channel axis: the batch and the positions."""
    return (0,) + tuple(range(2, x.ndim))


def batch_statistics(x):
    """Mean and biased variance of each channel: x (N, C, ...) -> ((C,), (C,))."""
    mean = x.mean(axis=_axes(x))
    var = ((x - _per_channel(mean, x.ndim)) ** 2).mean(axis=_axes(x))
    return mean, var


def batch_norm(x, gamma, beta, mean, var, eps=1e-5):
    """Normalise x (N, C, ...) with the given per-channel mean and var (C,), then scale and shift:
    -> y (same shape). Training passes the batch's statistics, inference the running ones."""
    xp = get_array_module(x)
    inv_std = 1.0 / xp.sqrt(var + eps)
    x_hat = (x - _per_channel(mean, x.ndim)) * _per_channel(inv_std, x.ndim)
    return _per_channel(gamma, x.ndim) * x_hat + _per_channel(beta, x.ndim)


def batch_norm_backward(dy, x, gamma, mean, var, eps=1e-5, batch_stats=True):
    """Gradients of batch_norm: dy (N, C, ...) -> (dx, dgamma (C,), dbeta (C,)).

    batch_stats: mean and var were the batch's own (training); dx then carries the
    terms through them: dx = gamma/sigma (dy - mean(dy) - x_hat mean(dy x_hat)),
    the means over each channel's N*H*W values. Otherwise (inference) dx = gamma/sigma dy.
    """
    xp = get_array_module(x)
    inv_std = 1.0 / xp.sqrt(var + eps)
    x_hat = (x - _per_channel(mean, x.ndim)) * _per_channel(inv_std, x.ndim)
    dgamma, dbeta = (dy * x_hat).sum(axis=_axes(x)), dy.sum(axis=_axes(x))
    scale = _per_channel(gamma * inv_std, x.ndim)
    if not batch_stats:
        return dy * scale, dgamma, dbeta
    count = x.size // x.shape[1]
    dx = scale * (dy - _per_channel(dbeta / count, x.ndim) - x_hat * _per_channel(dgamma / count, x.ndim))
    return dx, dgamma, dbeta
