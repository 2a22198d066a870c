"""Layers: thin classes that hold parameters and what backward needs.

The math lives in ``minizf.functional``; a layer only remembers its input
(and, for max-pooling, the switches; for dropout, the mask) between
``forward`` and ``backward``. Every layer follows one contract::

    y  = layer.forward(x, train=False)   # keeps what backward needs
    dx = layer.backward(dy)              # fills layer.grads, returns dx
    s  = layer.reverse(signal, rule)     # one deconvnet step down; grads untouched

``reverse`` rules (how a signal passes a ReLU on its way down):
``"deconvnet"`` rectifies the signal itself (Zeiler & Fergus), ``"gradient"``
masks it by the forward input (plain backprop), ``"guided"`` does both.
Conv, linear, pooling, flatten and dropout pass every rule the same way: by
their backward w.r.t. the input. LRN layers are skipped by default
(``lrn="skip"``, as the paper's deconvnet) or use their true backward
(``lrn="backward"``).
"""
import math

import numpy as np

from . import functional as F
from .backend import default_rng, device_of, get_array_module, make_rng, to_device

RULES = ("deconvnet", "gradient", "guided")
LRN_MODES = ("skip", "backward")


def check_reverse_options(rule, lrn):
    """Raise ValueError for an unknown reverse rule or LRN mode."""
    if rule not in RULES:
        raise ValueError(f"unknown reverse rule {rule!r}: expected one of {RULES}")
    if lrn not in LRN_MODES:
        raise ValueError(f"unknown lrn mode {lrn!r}: expected one of {LRN_MODES}")


def _is_array(x):
    return isinstance(x, np.ndarray) or get_array_module(x) is not np


class Layer:
    """Base class. Subclasses set ``params`` and implement output_shape/forward/backward."""

    #: what the per-image input looks like, for error messages, e.g. "(C, H, W)"
    input_layout = None

    def __init__(self):
        self.name = type(self).__name__   # Sequential renames it ("conv1", ...)
        self.params = {}
        self.grads = {}
        self.buffers = {}                 # state that is saved but not learned (BatchNorm's running stats)
        self.x = None                     # the input of the last forward
        self.y_shape = None               # the shape of the last output

    # ----- shapes and checks -------------------------------------------------
    @property
    def label(self):
        kind = type(self).__name__
        return kind if self.name == kind else f"{self.name} ({kind})"

    def fail(self, message, error=ValueError):
        """Raise ``error`` with a message that names this layer."""
        raise error(f"{self.label}: {message}")

    def output_shape(self, in_shape):
        """Per-image output shape for a per-image input shape (batch axis left out)."""
        return tuple(in_shape)

    def _remember_input(self, x):
        """Check x (type, dtype, rank, sizes) and keep it for backward/reverse."""
        if not _is_array(x):
            self.fail(f"expected a numpy or cupy array, got {type(x).__name__}", TypeError)
        if x.dtype.kind != "f":
            self.fail(f"expected a floating-point input, got dtype {x.dtype} "
                      "(convert images with x.astype('float32'))", TypeError)
        for pname, p in self.params.items():
            if p.dtype != x.dtype:
                self.fail(f"input dtype {x.dtype} does not match parameter {pname!r} dtype "
                          f"{p.dtype}; convert one of them (e.g. net.astype('{x.dtype}'))",
                          TypeError)
        per_image = tuple(x.shape[1:])
        if self.input_layout and len(per_image) != self.input_layout.count(",") + 1:
            self.fail(f"expected input of shape (N, {self.input_layout[1:]}, "
                      f"got shape {tuple(x.shape)}")
        if x.ndim and x.shape[0] == 0:
            self.fail(f"got an empty batch, shape {tuple(x.shape)}: N must be at least 1")
        self.y_shape = (x.shape[0],) + tuple(self.output_shape(per_image))
        self.x = x

    def _check_signal(self, signal, what="dy"):
        """Check that a signal coming down has the shape of the last forward's output."""
        if self.y_shape is None:
            self.fail("backward/reverse called before forward", RuntimeError)
        if tuple(signal.shape) != self.y_shape:
            self.fail(f"expected {what} of shape {self.y_shape} (the forward output), "
                      f"got {tuple(signal.shape)}")

    #: what forward keeps for backward and reverse, beyond the input: forget() drops it
    kept = ()

    def forget(self):
        """Drop what the last forward kept for backward (its input, switches, masks): a network that
        was only scanned gives that memory back. backward then needs a new forward."""
        self.x, self.y_shape = None, None
        for name in self.kept:
            setattr(self, name, None)

    def take_batch(self, indices):
        """Keep the forward state (input, switches, masks) of these batch entries only.

        Repeats are allowed: the deconvnet forwards each image once, then
        re-indexes the stored state to one entry per projection it makes.
        """
        self.x = self.x[indices]
        self.y_shape = (len(indices),) + tuple(self.y_shape[1:])

    # ----- the contract ------------------------------------------------------
    def forward(self, x, train=False):
        raise NotImplementedError

    def backward(self, dy):
        """dL/dx for dL/dy. Default, for layers without parameters: the input gradient alone."""
        self._check_signal(dy)
        return self.backward_input(dy)

    def backward_params(self, dy):
        """Fill ``grads`` when the input gradient is not wanted (a first layer's input is
        data). Default: ``backward`` with its result dropped; Conv2D skips the work."""
        self.backward(dy)

    def reverse(self, signal, rule="deconvnet", lrn="skip"):
        """One step of the reverse (deconvnet) pass. Default: backward w.r.t. the input only."""
        check_reverse_options(rule, lrn)
        self._check_signal(signal, "signal")
        return self.backward_input(signal)

    def backward_input(self, dy):
        """The input gradient alone, without touching ``grads`` (linear layers override)."""
        raise NotImplementedError

    # ----- parameters ----------------------------------------------------------
    def named_parameters(self):
        """Yield (name, parameter, gradient or None)."""
        for key, p in self.params.items():
            yield key, p, self.grads.get(key)

    def zero_grad(self):
        self.grads = {}

    def astype(self, dtype):
        """Convert parameters (and gradients) to ``dtype`` in place; returns self."""
        self.params = {k: p.astype(dtype) for k, p in self.params.items()}
        self.grads = {k: g.astype(dtype) for k, g in self.grads.items()}
        self.buffers = {k: b.astype(dtype) for k, b in self.buffers.items()}
        return self

    def to(self, device):
        """Move parameters (and gradients) to "cpu" or "cuda" in place; returns self."""
        self.params = {k: to_device(p, device) for k, p in self.params.items()}
        self.grads = {k: to_device(g, device) for k, g in self.grads.items()}
        self.buffers = {k: to_device(b, device) for k, b in self.buffers.items()}
        return self

    def extra_repr(self):
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"


#: The most weights one layer may hold (4 GB of float32): asked for more (a model file's options, a
#: typo in a width), a layer says so in one line instead of running out of memory.
MAX_WEIGHTS = 1 << 30


def _normal(rng, std, shape, dtype):
    count = math.prod(shape)
    if count > MAX_WEIGHTS:
        raise ValueError(f"a layer of weights {tuple(shape)} ({count:,} values) is more than the {MAX_WEIGHTS:,} "
                         "one layer may hold")
    return rng.normal(0.0, std, size=shape).astype(dtype)


class Conv2D(Layer):
    """2-D convolution: x (N, in_channels, H, W) -> (N, out_channels, OH, OW).

    W (out, in, kh, kw) starts as N(0, std^2) with std = ``weight_std`` or,
    by default, He's sqrt(2 / fan_in); b starts at 0.
    """

    input_layout = "(C, H, W)"

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, pad=0,
                 weight_std=None, rng=None, dtype=np.float32):
        super().__init__()
        self.in_channels = F.whole(in_channels, "Conv2D in_channels", 1)
        self.out_channels = F.whole(out_channels, "Conv2D out_channels", 1)
        self.kernel_size = F.pair(kernel_size, "Conv2D kernel_size", 1)
        self.stride, self.pad = F.pair(stride, "Conv2D stride", 1), F.pair(pad, "Conv2D pad", 0)
        kh, kw = self.kernel_size
        fan_in = self.in_channels * kh * kw
        std = math.sqrt(2.0 / fan_in) if weight_std is None else weight_std
        rng = default_rng() if rng is None else rng
        self.params = {"W": _normal(rng, std, (self.out_channels, self.in_channels, kh, kw), dtype),
                       "b": np.zeros(self.out_channels, dtype=dtype)}

    def output_shape(self, in_shape):
        C, H, W = in_shape
        if C != self.in_channels:
            self.fail(f"expected input of shape (N, {self.in_channels}, H, W), "
                      f"got (N, {C}, {H}, {W})")
        try:
            shape, *_ = F.window_grid((1, C, H, W), self.kernel_size, self.stride, self.pad)
        except ValueError as err:
            self.fail(f"{err}; kernel {self.kernel_size}, input (N, {C}, {H}, {W})")
        return (self.out_channels,) + shape

    def forward(self, x, train=False):
        self._remember_input(x)
        return F.conv2d(x, self.params["W"], self.params["b"], self.stride, self.pad)

    def backward(self, dy, input_grad=True):
        self._check_signal(dy)
        dx, self.grads["W"], self.grads["b"] = F.conv2d_backward(
            dy, self.x, self.params["W"], self.stride, self.pad, input_grad)
        return dx

    def backward_params(self, dy):
        self.backward(dy, input_grad=False)

    def backward_input(self, dy):
        # The transposed convolution: the deconvnet's "filtering" step.
        return F.conv2d_backward_input(dy, self.params["W"], self.x.shape, self.stride, self.pad)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, pad={self.pad}")


class ReLU(Layer):
    """Rectified linear unit, any shape -> same shape."""

    def forward(self, x, train=False):
        self._remember_input(x)
        return F.relu(x)

    def backward(self, dy):
        self._check_signal(dy)
        return F.relu_backward(dy, self.x)

    def reverse(self, signal, rule="deconvnet", lrn="skip"):
        """deconvnet: relu(signal); gradient: signal where x > 0; guided: both."""
        check_reverse_options(rule, lrn)
        self._check_signal(signal, "signal")
        return F.relu_reverse(signal, self.x, rule)


class MaxPool2D(Layer):
    """Max-pooling with switches: x (N, C, H, W) -> (N, C, OH, OW).

    ``self.switches`` (N, C, OH, OW) keeps the argmax index h*W+w of each
    window from the last forward; backward and reverse (unpooling) use them.
    """

    kept = ("switches",)

    input_layout = "(C, H, W)"

    def __init__(self, kernel_size, stride=None, pad=0, ceil_mode=False):
        super().__init__()
        self.kernel_size = F.pair(kernel_size, "MaxPool2D kernel_size", 1)
        self.stride = F.pair(self.kernel_size if stride is None else stride, "MaxPool2D stride", 1)
        self.pad, self.ceil_mode = F.pair(pad, "MaxPool2D pad", 0), bool(ceil_mode)
        if any(2 * p > k for p, k in zip(self.pad, self.kernel_size)):
            self.fail(f"pad {self.pad} must be at most half the kernel {self.kernel_size}")
        self.switches = None

    def output_shape(self, in_shape):
        C, H, W = in_shape
        try:
            shape, *_ = F.pool_grid((1, C, H, W), self.kernel_size, self.stride, self.pad,
                                    self.ceil_mode)
        except ValueError as err:
            self.fail(f"{err}; kernel {self.kernel_size}, input (N, {C}, {H}, {W})")
        return (C,) + shape

    def forward(self, x, train=False):
        self._remember_input(x)
        y, self.switches = F.max_pool2d(x, self.kernel_size, self.stride, self.pad, self.ceil_mode)
        return y

    def take_batch(self, indices):
        super().take_batch(indices)
        self.switches = self.switches[indices]

    def backward_input(self, dy):
        # Unpooling: every value goes back to its switch; overlaps add.
        return F.unpool(dy, self.switches, self.x.shape)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, pad={self.pad}, "
                f"ceil_mode={self.ceil_mode}")


class AvgPool2D(Layer):
    """Average pooling (not in the paper; in networks brought from elsewhere): x (N, C, H, W) -> (N, C, OH, OW).

    A linear map: backward and reverse (the deconvnet) are its transpose.
    """

    input_layout = "(C, H, W)"

    def __init__(self, kernel_size, stride=None, pad=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        self.kernel_size = F.pair(kernel_size, "AvgPool2D kernel_size", 1)
        self.stride = F.pair(self.kernel_size if stride is None else stride, "AvgPool2D stride", 1)
        self.pad, self.ceil_mode = F.pair(pad, "AvgPool2D pad", 0), bool(ceil_mode)
        self.count_include_pad = bool(count_include_pad)
        if any(2 * p > k for p, k in zip(self.pad, self.kernel_size)):
            self.fail(f"pad {self.pad} must be at most half the kernel {self.kernel_size}")

    def _options(self):
        return self.kernel_size, self.stride, self.pad, self.ceil_mode, self.count_include_pad

    def output_shape(self, in_shape):
        C, H, W = in_shape
        try:
            shape, *_ = F.pool_grid((1, C, H, W), self.kernel_size, self.stride, self.pad, self.ceil_mode)
        except ValueError as err:
            self.fail(f"{err}; kernel {self.kernel_size}, input (N, {C}, {H}, {W})")
        return (C,) + shape

    def forward(self, x, train=False):
        self._remember_input(x)
        return F.avg_pool2d(x, *self._options())

    def backward_input(self, dy):
        return F.avg_pool2d_backward(dy, self.x.shape, *self._options())

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, pad={self.pad}, "
                f"ceil_mode={self.ceil_mode}, count_include_pad={self.count_include_pad}")


class AdaptiveAvgPool2D(Layer):
    """Average pooling to a fixed output size, whatever the input's: x (N, C, H, W) -> (N, C, OH, OW)."""

    input_layout = "(C, H, W)"

    def __init__(self, output_size):
        super().__init__()
        self.output_size = F.pair(output_size, "AdaptiveAvgPool2D output_size", 1)

    def output_shape(self, in_shape):
        return (in_shape[0],) + self.output_size

    def forward(self, x, train=False):
        self._remember_input(x)
        return F.adaptive_avg_pool2d(x, self.output_size)

    def backward_input(self, dy):
        return F.adaptive_avg_pool2d_backward(dy, self.x.shape)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class LRN(Layer):
    """Cross-channel local response normalization as the paper writes it (see functional.lrn).

    x (N, C, H, W) -> same shape. PyTorch's LocalResponseNorm(size, alpha*size, beta, k)
    is the same map.
    """

    input_layout = "(C, H, W)"

    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0):
        super().__init__()
        self.size = F.whole(size, "LRN size", 1)
        self.alpha, self.beta, self.k = float(alpha), float(beta), float(k)
        if not (math.isfinite(self.alpha) and math.isfinite(self.beta) and self.k > 0 and self.alpha >= 0):
            self.fail(f"expected finite alpha >= 0, beta and k > 0 (so the denominator is positive), "
                      f"got alpha={alpha}, beta={beta}, k={k}")

    def forward(self, x, train=False):
        self._remember_input(x)
        return F.lrn(x, self.size, self.alpha, self.beta, self.k)

    def backward_input(self, dy):
        return F.lrn_backward(dy, self.x, self.size, self.alpha, self.beta, self.k)

    def reverse(self, signal, rule="deconvnet", lrn="skip"):
        """lrn="skip": pass the signal unchanged (the paper); "backward": the true Jacobian^T."""
        check_reverse_options(rule, lrn)
        self._check_signal(signal, "signal")
        return signal if lrn == "skip" else self.backward_input(signal)

    def extra_repr(self):
        return f"size={self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class Dropout(Layer):
    """Inverted dropout, any shape -> same shape; identity when ``train`` is False.

    Masks come from the layer's own generator (``seed``), so runs repeat. For a
    gradient check, ``fix_mask(mask)`` makes every training forward reuse one mask.
    """

    kept = ("mask",)

    def __init__(self, p=0.5, seed=None):
        super().__init__()
        if not 0.0 <= p < 1.0:
            self.fail(f"drop probability p must be in [0, 1), got {p}")
        self.p, self.seed = float(p), seed
        self.mask = None
        self.fixed_mask = None
        self.shard = None          # (lo, hi, batch): data-parallel training takes rows lo:hi of one global mask
        self._rngs = {}

    def rng(self, device):
        """This layer's generator on ``device`` (made on first use). Without a seed of its own
        the layer draws one from minizf's shared generator, so ``mz.seed(n)`` repeats its masks."""
        if self.seed is None:
            self.seed = int(default_rng().integers(2**31))
        if device not in self._rngs:
            self._rngs[device] = make_rng(self.seed, device)
        return self._rngs[device]

    def reseed(self, seed_value):
        """Start a fresh generator from ``seed_value`` (the trainer reseeds every epoch)."""
        self.seed, self._rngs = seed_value, {}

    def fix_mask(self, mask):
        """Use ``mask`` (values 0 or 1/(1-p)) for every training forward; None to stop."""
        self.fixed_mask = mask

    def forward(self, x, train=False):
        self._remember_input(x)
        if not train or self.p == 0.0:
            self.mask = None
            return x
        if self.fixed_mask is not None:
            if self.fixed_mask.shape != x.shape:
                self.fail(f"fixed mask of shape {self.fixed_mask.shape} does not fit "
                          f"input {tuple(x.shape)}")
            self.mask = self.fixed_mask
            return x * self.mask
        if self.shard is not None:          # the global batch's mask, drawn alike on every rank
            lo, hi, batch = self.shard
            self.mask = self.draw_mask((batch,) + tuple(x.shape[1:]), x.dtype, device_of(x))[lo:hi]
            return x * self.mask
        y, self.mask = F.dropout(x, self.p, self.rng(device_of(x)))
        return y

    def draw_mask(self, shape, dtype=np.float32, device="cpu"):
        """A training mask of ``shape`` from this layer's generator (it advances as a forward would)."""
        return F.dropout_mask(shape, self.p, self.rng(device), dtype)

    def take_batch(self, indices):
        super().take_batch(indices)
        if self.mask is not None:
            self.mask = self.mask[indices]

    def backward_input(self, dy):
        return dy if self.mask is None else F.dropout_backward(dy, self.mask)

    def extra_repr(self):
        return f"p={self.p}"


class Linear(Layer):
    """Fully connected: x (N, in_features) -> (N, out_features); W is (out, in) as in PyTorch."""

    def __init__(self, in_features, out_features, weight_std=None, rng=None, dtype=np.float32):
        super().__init__()
        self.in_features = F.whole(in_features, "Linear in_features", 1)
        self.out_features = F.whole(out_features, "Linear out_features", 1)
        std = math.sqrt(2.0 / self.in_features) if weight_std is None else weight_std
        rng = default_rng() if rng is None else rng
        self.params = {"W": _normal(rng, std, (self.out_features, self.in_features), dtype),
                       "b": np.zeros(self.out_features, dtype=dtype)}

    def output_shape(self, in_shape):
        if tuple(in_shape) != (self.in_features,):
            self.fail(f"expected input of shape (N, {self.in_features}), got (N, "
                      f"{', '.join(map(str, in_shape))}); put a Flatten before it if needed")
        return (self.out_features,)

    def forward(self, x, train=False):
        self._remember_input(x)
        return F.linear(x, self.params["W"], self.params["b"])

    def backward(self, dy):
        self._check_signal(dy)
        dx, self.grads["W"], self.grads["b"] = F.linear_backward(dy, self.x, self.params["W"])
        return dx

    def backward_input(self, dy):
        return F.linear_backward_input(dy, self.params["W"])

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}"


class BatchNorm2D(Layer):
    """Batch normalisation per channel: x (N, C, H, W) -> (N, C, H, W).

    Learned ``gamma`` and ``beta`` (C,); ``buffers`` hold the running mean and
    variance that inference uses, updated in training as PyTorch does:
    r = (1 - momentum) r + momentum b, with the unbiased batch variance.
    The reverse pass (deconvnet and every rule) is the inference backward: the
    per-channel scale gamma / sqrt(running var + eps).
    """

    kept = ("stats",)

    input_layout = "(C, H, W)"

    def __init__(self, channels, eps=1e-5, momentum=0.1, dtype=np.float32):
        super().__init__()
        self.channels, self.eps, self.momentum = int(channels), float(eps), float(momentum)
        self.params = {"gamma": np.ones(self.channels, dtype), "beta": np.zeros(self.channels, dtype)}
        self.buffers = {"running_mean": np.zeros(self.channels, dtype), "running_var": np.ones(self.channels, dtype)}
        self.stats = None          # (mean, var, batch_stats) the last forward normalised with

    def output_shape(self, in_shape):
        if in_shape[0] != self.channels:
            self.fail(f"expected {self.channels} channels, got input of shape {tuple(in_shape)}")
        return tuple(in_shape)

    def forward(self, x, train=False):
        self._remember_input(x)
        if train:
            mean, var = F.batch_statistics(x)
            count = x.size // x.shape[1]
            unbiased = var * (count / max(count - 1, 1))
            m = self.momentum
            self.buffers["running_mean"] = (1 - m) * self.buffers["running_mean"] + m * mean
            self.buffers["running_var"] = (1 - m) * self.buffers["running_var"] + m * unbiased
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        self.stats = (mean, var, train)
        return F.batch_norm(x, self.params["gamma"], self.params["beta"], mean, var, self.eps)

    def _backward(self, dy):
        mean, var, batch_stats = self.stats
        return F.batch_norm_backward(dy, self.x, self.params["gamma"], mean, var, self.eps, batch_stats)

    def backward(self, dy):
        self._check_signal(dy)
        dx, self.grads["gamma"], self.grads["beta"] = self._backward(dy)
        return dx

    def backward_input(self, dy):
        return self._backward(dy)[0]

    def extra_repr(self):
        return f"{self.channels}, eps={self.eps:g}, momentum={self.momentum:g}"


class Merge(Layer):
    """Base of the layers where branches meet: they read a list of inputs (N, ...) and send a
    list of gradients (and reverse signals) back, one per input, in the same order."""

    many_inputs = True

    def _remember_inputs(self, xs):
        if not isinstance(xs, (list, tuple)) or len(xs) < 2:
            self.fail(f"expected a list of at least 2 arrays, got {type(xs).__name__}", TypeError)
        for x in xs:
            if not _is_array(x) or x.dtype.kind != "f":
                self.fail("expected floating-point numpy or cupy arrays", TypeError)
        if len({x.shape[0] for x in xs}) > 1:
            self.fail(f"inputs hold different batch sizes: {[tuple(x.shape) for x in xs]}")
        self.in_shapes = [tuple(x.shape[1:]) for x in xs]
        self.y_shape = (xs[0].shape[0],) + tuple(self.output_shape(self.in_shapes))

    def take_batch(self, indices):
        self.y_shape = (len(indices),) + tuple(self.y_shape[1:])


class Add(Merge):
    """Elementwise sum of same-shaped inputs (a residual connection): [x (N, ...)] -> (N, ...)."""

    def output_shape(self, in_shapes):
        if len({tuple(s) for s in in_shapes}) > 1:
            self.fail(f"inputs must have one shape, got {[tuple(s) for s in in_shapes]}")
        return tuple(in_shapes[0])

    def forward(self, xs, train=False):
        self._remember_inputs(xs)
        return F.add(xs)

    def backward_input(self, dy):
        return F.add_backward(dy, len(self.in_shapes))


class Concat(Merge):
    """Inputs stacked along the channel axis: [x (N, C_k, H, W)] -> (N, sum C_k, H, W)."""

    def output_shape(self, in_shapes):
        if len({tuple(s[1:]) for s in in_shapes}) > 1:
            self.fail(f"inputs must agree on all but the channel axis, got {[tuple(s) for s in in_shapes]}")
        return (sum(s[0] for s in in_shapes),) + tuple(in_shapes[0][1:])

    def forward(self, xs, train=False):
        self._remember_inputs(xs)
        return F.concat(xs)

    def backward_input(self, dy):
        return F.concat_backward(dy, [s[0] for s in self.in_shapes])


class Flatten(Layer):
    """(N, C, H, W) (or any rank) -> (N, C*H*W)."""

    def output_shape(self, in_shape):
        return (int(np.prod(in_shape)),)

    def forward(self, x, train=False):
        self._remember_input(x)
        return x.reshape(x.shape[0], -1)

    def backward_input(self, dy):
        return dy.reshape(self.x.shape)


class Loss:
    """A loss over class scores: ``loss = L.forward(scores, labels)`` with scores (N, C) and int
    labels (N,) returns a float; ``L.backward()`` returns d loss / d scores (N, C)."""

    name = "Loss"

    def __init__(self):
        self.labels = None
        self._cache = None

    def check(self, scores, labels):
        """Validate scores (N, C) and labels (N,) in [0, C); returns labels as an array of scores' module."""
        xp = get_array_module(scores)
        labels = xp.asarray(labels)
        if scores.ndim != 2:
            raise ValueError(f"{self.name}: expected scores of shape (N, C), got {tuple(scores.shape)}")
        if scores.dtype.kind != "f":
            raise TypeError(f"{self.name}: expected floating-point scores, got dtype {scores.dtype}")
        if labels.dtype.kind not in "iu":
            raise TypeError(f"{self.name}: expected integer labels, got dtype {labels.dtype}")
        n, c = scores.shape
        if labels.shape != (n,):
            raise ValueError(f"{self.name}: expected labels of shape ({n},), got {tuple(labels.shape)}")
        if n and (int(labels.min()) < 0 or int(labels.max()) >= c):
            raise ValueError(f"{self.name}: labels must lie in [0, {c}), got range "
                             f"[{int(labels.min())}, {int(labels.max())}]")
        return labels

    def forward(self, scores, labels):
        self.labels = self.check(scores, labels)
        loss, self._cache = self._forward(scores, self.labels)
        return loss

    def backward(self, dloss=1.0):
        """d (dloss * loss) / d scores, shape (N, C)."""
        if self._cache is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        return self._backward(self._cache, self.labels) * dloss

    def __repr__(self):
        return f"{self.name}()"


class SoftmaxCrossEntropy(Loss):
    """The loss: softmax over C classes and mean cross-entropy over the batch.

    ``loss = ce.forward(scores, labels)`` with scores (N, C) and int labels (N,)
    returns a float and keeps ``ce.probs`` (N, C); ``ce.backward()`` returns
    d loss / d scores (N, C).
    """

    name = "SoftmaxCrossEntropy"
    _forward = staticmethod(F.softmax_cross_entropy)
    _backward = staticmethod(F.softmax_cross_entropy_backward)

    @property
    def probs(self):
        """The softmax probabilities (N, C) of the last forward."""
        return self._cache


class MulticlassHinge(Loss):
    """A linear SVM's loss, one-vs-rest (Table 7's SVM): mean over the batch of
    sum_j max(0, 1 - t_ij s_ij), t_ij = +1 for the true class, -1 otherwise.

    ``hinge.forward(scores (N, C), labels (N,))`` -> float; ``hinge.backward()`` -> (N, C).
    A Linear layer trained with it (and weight decay) is C binary linear SVMs.
    """

    name = "MulticlassHinge"
    _forward = staticmethod(F.one_vs_rest_hinge)
    _backward = staticmethod(F.one_vs_rest_hinge_backward)
