"""Checking tools for students and graders: numerical gradients and adjoint tests.

* ``numerical_gradient(f, x)``: central differences of a scalar function, in float64.
* ``gradcheck(model, x)``: a layer's or a network's backward against central
  differences, for the input and every parameter. Without a loss it checks
  ``<dy, model(x)>`` for a *random* dy: checking ``sum(model(x))`` would let a
  softmax whose backward returns zeros pass.
* ``adjoint_check(A, AT, x_shape, y_shape)``: ``<A x, y> == <x, AT y>`` for a
  linear map and its claimed transpose.
* ``gradcheck_layers(net, x)``: one gradcheck per layer, on the input that
  layer really sees, to find which layer of a network is wrong.
"""
from contextlib import contextmanager

import numpy as np

from .backend import get_array_module, to_numpy
from .layers import Dropout
from .net import Sequential


def numerical_gradient(f, x, eps=1e-6, indices=None):
    """d f / d x by central differences: f() -> float reads x, which is perturbed in place.

    indices: flat indices to check (default all); the others stay 0.
    Returns an array shaped like x.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    flat_x = x.reshape(-1)            # a view: writes reach x
    flat_g = grad.reshape(-1)
    for i in range(x.size) if indices is None else indices:
        old = flat_x[i].item()
        flat_x[i] = old + eps
        f_plus = f()
        flat_x[i] = old - eps
        f_minus = f()
        flat_x[i] = old               # restore exactly
        flat_g[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(analytic, numeric):
    """max |a - n| / max(max |a|, max |n|, 1): relative for large gradients, absolute below 1.

    The floor of 1 keeps round-off noise (~1e-10) from counting as a 100% error
    where the true gradient is zero.
    """
    a, n = to_numpy(analytic).astype(np.float64), to_numpy(numeric).astype(np.float64)
    scale = max(np.abs(a).max(initial=0.0), np.abs(n).max(initial=0.0), 1.0)
    return float(np.abs(a - n).max(initial=0.0) / scale)


class GradCheckResult:
    """Errors of one gradcheck: ``result.errors`` maps "input" and parameter names to errors."""

    def __init__(self, errors, tol):
        self.errors = dict(errors)
        self.tol = tol

    @property
    def max_error(self):
        return max(self.errors.values(), default=0.0)

    @property
    def passed(self):
        return self.max_error <= self.tol

    def __getitem__(self, name):
        return self.errors[name]

    def __str__(self):
        width = max([len(k) for k in self.errors] + [9])
        lines = [f"{'gradient':<{width}}  {'rel. error':>10}  ok (tol {self.tol:.0e})"]
        for name, err in self.errors.items():
            lines.append(f"{name:<{width}}  {err:>10.2e}  {'yes' if err <= self.tol else 'NO'}")
        return "\n".join(lines)

    __repr__ = __str__


def _sub_layers(model):
    return [layer for _, layer in model] if isinstance(model, Sequential) else [model]


@contextmanager
def _frozen_dropout(model, x, train):
    """While checking in training mode, every dropout layer reuses one mask."""
    frozen = []
    if train:
        model.forward(x, train=True)
        for layer in _sub_layers(model):
            if isinstance(layer, Dropout) and layer.fixed_mask is None and layer.mask is not None:
                layer.fix_mask(layer.mask)
                frozen.append(layer)
    try:
        yield
    finally:
        for layer in frozen:
            layer.fix_mask(None)


def _require_float64(model, x):
    if x.dtype != np.float64:
        raise TypeError(f"gradcheck needs a float64 input, got {x.dtype}: central differences "
                        "in float32 are too coarse (use x.astype('float64'))")
    for name, p, _ in model.named_parameters():
        if p.dtype != np.float64:
            raise TypeError(f"gradcheck needs float64 parameters, {name} is {p.dtype} "
                            "(use model.astype('float64'))")


def _pick(size, max_checks, rng):
    if max_checks is None or size <= max_checks:
        return None
    return rng.choice(size, max_checks, replace=False)


def gradcheck(model, x, dy=None, loss=None, labels=None, train=False, eps=1e-6,
              max_checks=None, tol=1e-6, seed=0):
    """Backward of a layer or Sequential against central differences, in float64.

    Checks the scalar ``<dy, model(x)>`` (dy random unless given), or
    ``loss.forward(model(x), labels)`` when a loss is given. ``max_checks``
    samples that many entries per array (default: all). In training mode
    dropout masks are frozen for the check. Returns a GradCheckResult with the
    relative error of "input" and of every parameter.
    """
    _require_float64(model, x)
    xp = get_array_module(x)
    rng = np.random.default_rng(seed)
    x = x.copy()
    with _frozen_dropout(model, x, train):
        y = model.forward(x, train)
        if loss is None:
            if dy is None:
                dy = xp.asarray(rng.standard_normal(y.shape))

            def f():
                return float((model.forward(x, train) * dy).sum())

            def upstream():
                return dy
        else:
            def f():
                return loss.forward(model.forward(x, train), labels)

            def upstream():
                loss.forward(model.forward(x, train), labels)
                return loss.backward()

        model.zero_grad()
        dx = model.backward(upstream())
        analytic = {"input": dx}
        analytic.update({name: g for name, _, g in model.named_parameters()})
        targets = {"input": x}
        targets.update({name: p for name, p, _ in model.named_parameters()})
        errors = {}
        for name, array in targets.items():
            picked = _pick(array.size, max_checks, rng)
            numeric = numerical_gradient(f, array, eps, picked)
            a = to_numpy(analytic[name])
            if a is None or a.shape != array.shape:
                raise ValueError(f"gradcheck: gradient of {name} has shape "
                                 f"{None if a is None else a.shape}, expected {array.shape}")
            if picked is not None:
                a, numeric = a.reshape(-1)[picked], numeric.reshape(-1)[picked]
            errors[name] = relative_error(a, numeric)
    return GradCheckResult(errors, tol)


def adjoint_check(A, AT, x_shape, y_shape, dtype=np.float64, seed=0, xp=np):
    """How far ``AT`` is from the transpose of the linear map ``A``: a relative error.

    Draws random x (x_shape) and y (y_shape) and compares <A x, y> with
    <x, AT y>, scaled by |A x| |y| + |x| |AT y|; ~1e-16 in float64 for a true pair.
    """
    rng = np.random.default_rng(seed)
    x = xp.asarray(rng.standard_normal(x_shape).astype(dtype))
    y = xp.asarray(rng.standard_normal(y_shape).astype(dtype))
    Ax, ATy = A(x), AT(y)
    if tuple(Ax.shape) != tuple(y_shape):
        raise ValueError(f"adjoint_check: A(x) has shape {tuple(Ax.shape)}, expected {tuple(y_shape)}")
    if tuple(ATy.shape) != tuple(x_shape):
        raise ValueError(f"adjoint_check: AT(y) has shape {tuple(ATy.shape)}, expected {tuple(x_shape)}")
    lhs, rhs = float((Ax * y).sum()), float((x * ATy).sum())
    scale = (float(xp.linalg.norm(Ax)) * float(xp.linalg.norm(y))
             + float(xp.linalg.norm(x)) * float(xp.linalg.norm(ATy)))
    return 0.0 if scale == 0.0 else abs(lhs - rhs) / scale


def tie_free_like(shape, seed=0):
    """Distinct values in [-1, 1], shuffled, of a shape: no ties for max-pooling, no zeros for ReLU."""
    n = int(np.prod(shape))
    values = np.linspace(-1.0, 1.0, n) + 0.5 / max(n, 1)   # shifted off 0, still distinct
    return np.random.default_rng(seed).permutation(values).reshape(shape)


def gradcheck_layers(net, x, train=False, max_checks=30, tol=1e-6, seed=0):
    """One gradcheck per layer of ``net``, with the input shape it sees in ``net.forward(x)``.

    The inputs are tie-free values of those shapes, not the real activations:
    after a ReLU, real activations hold many equal zeros, where max-pooling is
    not differentiable and central differences mean nothing.
    Returns {layer name: GradCheckResult}; ``format_report`` prints it.
    """
    xp = get_array_module(x)
    net.forward(x, train=train, keep=True)
    shapes = [x.shape] + [net.activations[name].shape for name in net.names[:-1]]
    return {name: gradcheck(layer, xp.asarray(tie_free_like(shape, seed)), train=train,
                            max_checks=max_checks, tol=tol, seed=seed)
            for (name, layer), shape in zip(net, shapes)}


def format_report(results):
    """A table of {name: GradCheckResult}: one line per layer, worst error first column."""
    lines = [f"{'layer':<12}{'worst error':>12}  {'ok':<4}worst array"]
    for name, result in results.items():
        worst = max(result.errors, key=result.errors.get)
        lines.append(f"{name:<12}{result.max_error:>12.2e}  {'yes' if result.passed else 'NO':<4}{worst}")
    return "\n".join(lines)
