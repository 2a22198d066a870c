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
from .net import Network


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


def relative_error(analytic, numeric, floor=1e-12):
    """max |a - n| / max(max |a|, max |n|, floor): relative to the arrays' own size.

    Never absolute below 1 (a gradient of size 0.01 that is 30% off is a 30%
    error). ``floor`` only keeps a gradient that is truly zero from dividing
    round-off by round-off; ``gradcheck`` sets it from the size of the checked
    function (see ``noise_floor``).
    """
    a, n = to_numpy(analytic).astype(np.float64), to_numpy(numeric).astype(np.float64)
    scale = max(np.abs(a).max(initial=0.0), np.abs(n).max(initial=0.0), floor)
    return float(np.abs(a - n).max(initial=0.0) / scale)


def noise_floor(f_value, eps):
    """The gradient size that central differences resolve: 1e-9 max(|f|, 1) / eps (1e-3 at eps = 1e-6).

    Rounding in f's intermediate terms (a softmax's sum of exponentials is ~1
    even when the loss is 1e-5) errs by ~1e-16 each, so a difference quotient
    errs by ~1e-10 absolute; against a floor of 1e-3 that stays far below
    gradcheck's tolerance, while a gradient of size 1e-7 that is 30% off still
    fails it by a factor of 30. The old floor was 1: anything below passed.
    """
    return 1e-9 * max(abs(f_value), 1.0) / eps


class GradCheckResult:
    """Errors of one gradcheck: ``result.errors`` maps "input" and parameter names to errors.

    ``result.worst[name]`` holds (index, analytic, numeric) of the worst entry;
    ``result.kinks`` lists places where the input sits on a kink of the function
    (max-pooling ties, ReLU inputs at 0) within the step: there central
    differences are meaningless, and ``reliable`` is False.
    """

    def __init__(self, errors, tol, worst=None, kinks=(), scale=None):
        self.errors = dict(errors)
        self.tol = tol
        self.worst = dict(worst or {})
        self.kinks = list(kinks)
        self.scale = dict(scale or {})

    @property
    def max_error(self):
        return max(self.errors.values(), default=0.0)

    @property
    def passed(self):
        return self.max_error <= self.tol

    @property
    def reliable(self):
        return not self.kinks

    def __getitem__(self, name):
        return self.errors[name]

    def __str__(self):
        width = max([len(k) for k in self.errors] + [9])
        lines = [f"WARNING: {k}" for k in self.kinks]
        if self.kinks:
            lines.append("central differences are meaningless at a kink, so the errors below may be wrong "
                         "either way: check on tie-free inputs (minizf.check.tie_free_like)")
        lines.append(f"{'gradient':<{width}}  {'rel. error':>10}  ok (tol {self.tol:.0e})  worst entry: analytic vs numeric")
        for name, err in self.errors.items():
            detail = ""
            if name in self.worst:
                index, a, n = self.worst[name]
                detail = f"  {[int(i) for i in index]}: {a:.6g} vs {n:.6g}"
                if name in self.scale:
                    detail += f" (scale {self.scale[name]:.2g})"
            lines.append(f"{name:<{width}}  {err:>10.2e}  {'yes' if err <= self.tol else 'NO':<12}{detail}")
        return "\n".join(lines)

    __repr__ = __str__


def _sub_layers(model):
    return [layer for _, layer in model] if isinstance(model, Network) else [model]


def _layer_inputs(model, x, train):
    """(name, layer, the name it reads, what it reads) for every layer of a network after one forward (a Graph's
    nodes read the outputs they name), or [("input", model, x)] for a single layer."""
    if not isinstance(model, Network):
        return [("input", model, "input", x)]
    model.forward(x, train, keep=True)
    values, wiring, previous, found = dict(model.activations, input=x), getattr(model, "inputs", None), "input", []
    for name, layer in model:
        source = wiring[name][0] if wiring else previous
        found.append((name, layer, source, values[source]))
        previous = name
    return found


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
        noise = noise_floor(f(), eps)
        pairs = {}
        for name, array in targets.items():
            if analytic[name] is None:
                raise ValueError(f"gradcheck: the gradient of {name} was never set: backward must fill "
                                 f"it (an array of shape {tuple(array.shape)})")
            a = to_numpy(analytic[name])
            if a.shape != array.shape:
                raise ValueError(f"gradcheck: gradient of {name} has shape {a.shape}, expected {array.shape}")
            picked = _pick(array.size, max_checks, rng)
            numeric = numerical_gradient(f, array, eps, picked)
            a, numeric = (a.reshape(-1), numeric.reshape(-1)) if picked is None else \
                (a.reshape(-1)[picked], numeric.reshape(-1)[picked])
            pairs[name] = (a.astype(np.float64), numeric, picked, array.shape)
        kinks = find_kinks(model, x, eps, train)
    return _compare(pairs, noise, tol, kinks)


def _compare(pairs, noise, tol, kinks):
    """GradCheckResult of {name: (analytic, numeric, picked, shape)}: each array's error relative to
    the largest gradient of the whole check (central differences err by about the same amount
    everywhere, so a tiny gradient beside large ones is held to the large ones' scale)."""
    scale = {name: max(np.abs(a).max(initial=0.0), np.abs(n).max(initial=0.0)) for name, (a, n, _, _) in pairs.items()}
    floor = max(max(scale.values(), default=0.0), noise)
    errors, worst = {}, {}
    for name, (a, numeric, picked, shape) in pairs.items():
        errors[name] = relative_error(a, numeric, floor)
        if a.size:
            k = int(np.argmax(np.abs(a - numeric)))
            flat = k if picked is None else int(picked[k])
            worst[name] = (np.unravel_index(flat, shape), float(a[k]), float(numeric[k]))
    return GradCheckResult(errors, tol, worst, kinks, scale)


def _pool_gaps(layer, x):
    """Per window of a MaxPool2D on x: (largest value, gap to the second largest)."""
    from .functional.pooling import pad_for_windows, pool_grid, window_views
    xp = get_array_module(x)
    grid = pool_grid(x.shape, layer.kernel_size, layer.stride, layer.pad, layer.ceil_mode)
    stack = xp.stack(window_views(pad_for_windows(x, grid, -xp.inf), grid))
    if len(stack) == 1:                        # a 1x1 window has nothing to tie with
        return stack[0], xp.full(stack[0].shape, xp.inf)
    top2 = xp.sort(stack, axis=0)[-2:]
    return top2[1], top2[1] - top2[0]


def find_kinks(model, x, eps, train=False):
    """Where the function's kinks lie within ``eps`` of the input: ["pool1: 12 windows with ties ...", ...].

    A max-pooling window whose two largest inputs are closer than 2 eps (a tie)
    or a ReLU input closer than eps to 0: a step of eps crosses the kink, and
    the central difference averages two different slopes. A tie of zeros after
    a ReLU that is not the checked input itself is left out: those zeros do
    not move when the input does.
    """
    from .layers import MaxPool2D, ReLU
    found = []
    for name, layer, source, value in _layer_inputs(model, x, train):
        if isinstance(layer, ReLU):
            near = int((abs(value) <= eps).sum())
            if near:
                found.append(f"{name}: {near} ReLU inputs within {eps:g} of 0 (the kink of max(x, 0))")
        elif isinstance(layer, MaxPool2D) and value.ndim == 4:
            top, gap = _pool_gaps(layer, value)
            ties = (gap <= 2 * eps) if source == "input" else (gap <= 2 * eps) & (top != 0)
            if int(ties.sum()):
                found.append(f"{name}: {int(ties.sum())} max-pooling windows with ties (two largest inputs "
                             f"within {2 * eps:g}): the switch may jump under a step of {eps:g}")
    return found


class AdjointResult(float):
    """The relative error of an adjoint check (a float, the worst over the probes), with
    ``error``, ``tol``, ``passed`` and ``probes`` (how many random pairs were tried)."""

    def __new__(cls, error, tol, probes):
        result = super().__new__(cls, error)
        result.tol, result.probes = tol, probes
        return result

    @property
    def error(self):
        return float(self)

    @property
    def passed(self):
        return float(self) <= self.tol

    def __repr__(self):
        return (f"AdjointResult(error={float(self):.2e}, tol={self.tol:.0e}, passed={self.passed}, "
                f"probes={self.probes})")


def pooling_map(switches, input_shape):
    """Max-pooling with frozen ``switches`` as the linear map it is: z (input_shape) -> z at the switches.

    Its transpose is ``unpool(., switches, input_shape)``: the pair adjoint_check needs.
    """
    N, C = input_shape[:2]

    def gather(z):
        xp = get_array_module(z)
        flat = z.reshape(N, C, -1)
        return xp.take_along_axis(flat, switches.reshape(N, C, -1).astype(xp.int64), axis=2).reshape(switches.shape)
    return gather


def _layer_maps(layer, x):
    """(A, AT, x_shape, y_shape) of a layer's linear map at x, frozen (switches, masks): A its forward
    without bias, AT its backward."""
    from .layers import AdaptiveAvgPool2D, AvgPool2D, Conv2D, Flatten, Linear, MaxPool2D, ReLU
    y = layer.forward(x)
    if isinstance(layer, (Conv2D, Linear)):
        W = layer.params["W"]
        if isinstance(layer, Conv2D):
            from .functional import conv2d
            A = lambda z: conv2d(z, W, None, layer.stride, layer.pad)    # noqa: E731
        else:
            from .functional import linear
            A = lambda z: linear(z, W)                                    # noqa: E731
    elif isinstance(layer, MaxPool2D):
        A = pooling_map(layer.switches, x.shape)
    elif isinstance(layer, ReLU):
        from .functional import relu_backward
        A = lambda z: relu_backward(z, x)                                 # noqa: E731  (the frozen mask)
    elif isinstance(layer, (AvgPool2D, AdaptiveAvgPool2D)):
        A = layer.forward                                                 # linear as it is
    elif isinstance(layer, Flatten):
        A = lambda z: z.reshape(y.shape)                                  # noqa: E731
    else:
        raise TypeError(f"adjoint_check: {type(layer).__name__} is not linear, even with its state frozen; "
                        "check its backward with gradcheck instead")
    return A, layer.backward, x.shape, y.shape


def adjoint_check(A, AT=None, x_shape=None, y_shape=None, dtype=np.float64, seed=0, xp=np, tol=1e-12,
                  probes=3, x=None):
    """How far ``AT`` is from the transpose of the linear map ``A``: an AdjointResult (a float).

    For random x (x_shape) and y (y_shape), compares <A x, y> with <x, AT y>,
    relative to |A x| |y| + |x| |AT y| (``adjoint_error``): ~1e-16 in float64 for
    a true pair, inf for values that overflow. The worst of ``probes`` random
    pairs is returned, with ``passed`` against ``tol``.

    Or give a layer and an input: ``adjoint_check(layer, x=x)`` checks the layer's
    backward against its forward with everything frozen at x (switches, ReLU
    masks; bias left out): conv, linear, max-pool, average pools, ReLU, flatten.
    """
    if AT is None:
        if x is None:
            raise TypeError("adjoint_check(layer, x=...) needs the input the layer's state is frozen at")
        A, AT, x_shape, y_shape = _layer_maps(A, x)
        xp, dtype = get_array_module(x), x.dtype
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(probes):
        u = xp.asarray(rng.standard_normal(x_shape).astype(dtype))
        v = xp.asarray(rng.standard_normal(y_shape).astype(dtype))
        Au, ATv = A(u), AT(v)
        if tuple(Au.shape) != tuple(y_shape):
            raise ValueError(f"adjoint_check: A(x) has shape {tuple(Au.shape)}, expected {tuple(y_shape)}")
        if tuple(ATv.shape) != tuple(x_shape):
            raise ValueError(f"adjoint_check: AT(y) has shape {tuple(ATv.shape)}, expected {tuple(x_shape)}")
        worst = max(worst, adjoint_error(Au, v, u, ATv))
    return AdjointResult(worst, tol, probes)


def stable_norm(a):
    """The 2-norm of an array in float64, computed without overflow (scaled by its largest entry)."""
    a = np.abs(np.asarray(to_numpy(a), np.float64)).ravel()
    top = a.max(initial=0.0)
    return float(top * np.sqrt(((a / top) ** 2).sum())) if 0 < top < np.inf else float(top)


def adjoint_error(ax, y, x, aty):
    """|<A x, y> - <x, A^T y>| / (|A x| |y| + |x| |A^T y|), in float64.

    inf where an array or an inner product is not finite: a map that answers zeros with one entry
    of 1e200 would otherwise overflow the norms to inf and pass any identity (0 / inf). 0 where
    both maps return zeros, a true pair (a convolution that only sees padding); the grader, which
    must tell work from none, refuses that case itself.
    """
    ax, y, x, aty = (np.asarray(to_numpy(a), np.float64) for a in (ax, y, x, aty))
    if not all(np.isfinite(a).all() for a in (ax, y, x, aty)):
        return np.inf
    lhs, rhs = float((ax * y).sum()), float((x * aty).sum())
    scale = stable_norm(ax) * stable_norm(y) + stable_norm(x) * stable_norm(aty)
    if not (np.isfinite(lhs) and np.isfinite(rhs) and np.isfinite(scale)):
        return np.inf
    return abs(lhs - rhs) / scale if scale > 0 else 0.0


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
