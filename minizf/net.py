"""Sequential: a stack of named layers, run forward, backward and in reverse.

Names follow the paper (``conv1``, ``relu1``, ``pool1``, ``norm1``, ...,
``fc8``), so ``net["conv5"]`` and ``net.reverse(signal, "pool5")`` read like
the paper's text.
"""
import numpy as np

from .backend import get_array_module, to_numpy
from .io import load_npz, save_npz_atomic
from .layers import check_reverse_options


def _check_finite(x):
    """ValueError naming the images of a batch that hold NaN or Inf."""
    xp = get_array_module(x)
    if getattr(x, "dtype", None) is None or x.dtype.kind != "f" or x.ndim == 0:
        return  # the first layer reports a wrong type
    finite = xp.isfinite(x).reshape(x.shape[0], -1).all(axis=1)
    if not bool(finite.all()):
        bad = to_numpy(xp.nonzero(~finite)[0]).tolist()
        raise ValueError(f"Sequential: input batch of shape {tuple(x.shape)} contains NaN or Inf "
                         f"in images {bad[:10]}{' ...' if len(bad) > 10 else ''}")


class Network:
    """What every network shares, whatever its wiring: named layers in forward order, their
    parameters, buffers and saved state. ``Sequential`` (a chain) and ``Graph`` (named inputs)
    add the passes."""

    _layers = ()
    _ran = ()

    # ----- access -------------------------------------------------------------
    @property
    def names(self):
        return [name for name, _ in self._layers]

    def named_layers(self):
        """List of (name, layer) in forward order."""
        return list(self._layers)

    def __getitem__(self, name):
        for n, layer in self._layers:
            if n == name:
                return layer
        raise KeyError(f"no layer named {name!r}; layers are {self.names}")

    def __contains__(self, name):
        return name in self.names

    def __iter__(self):
        return iter(self._layers)

    def __len__(self):
        return len(self._layers)

    def index(self, name):
        """Position of the layer called ``name``."""
        self[name]
        return self.names.index(name)

    def take_batch(self, indices):
        """Re-index every layer's stored forward state to these batch entries (see Layer.take_batch)."""
        for name in self._ran:
            self[name].take_batch(indices)

    # ----- parameters ---------------------------------------------------------------
    def named_parameters(self):
        """Yield ("layer.param", parameter, gradient or None) for every learnable array."""
        for lname, layer in self._layers:
            for pname, p, g in layer.named_parameters():
                yield f"{lname}.{pname}", p, g

    def zero_grad(self):
        for _, layer in self._layers:
            layer.zero_grad()

    @property
    def dtype(self):
        """The parameters' dtype (float32 for a network without parameters): inputs are cast to it."""
        return next((p.dtype for _, p, _ in self.named_parameters()), np.dtype(np.float32))

    def astype(self, dtype):
        """Convert every parameter to dtype in place (float64 for gradient checks); returns self."""
        for _, layer in self._layers:
            layer.astype(dtype)
        return self

    def to(self, device):
        """Move every parameter to "cpu" or "cuda"; returns self."""
        for _, layer in self._layers:
            layer.to(device)
        return self

    def forget(self):
        """Drop every layer's forward state and the kept activations (after a scan: a network that
        is only looked at need not hold its last batch); returns self."""
        for _, layer in self._layers:
            layer.forget()
        self.activations = {}
        if hasattr(self, "_ran"):
            self._ran = []
        return self

    def named_buffers(self):
        """Yield ("layer.buffer", array): saved state that is not learned (BatchNorm's running stats)."""
        for lname, layer in self._layers:
            for bname, b in layer.buffers.items():
                yield f"{lname}.{bname}", b

    def state_dict(self):
        """name -> NumPy copy of each parameter and buffer ("conv1.W", "conv1.b", "bn1.running_mean", ...)."""
        state = {name: to_numpy(p).copy() for name, p, _ in self.named_parameters()}
        state.update({name: to_numpy(b).copy() for name, b in self.named_buffers()})
        return state

    def load_state_dict(self, state, source="state dict"):
        """Copy arrays into the parameters; ValueError naming any missing, extra or misshapen entry."""
        own = {name: p for name, p, _ in self.named_parameters()}
        own.update(dict(self.named_buffers()))
        problems = []
        missing = sorted(set(own) - set(state))
        extra = sorted(set(state) - set(own))
        if missing:
            problems.append(f"missing {missing}")
        if extra:
            problems.append(f"unexpected {extra}")
        for name in sorted(set(own) & set(state)):
            if tuple(state[name].shape) != tuple(own[name].shape):
                problems.append(f"{name}: expected shape {tuple(own[name].shape)}, "
                                f"got {tuple(state[name].shape)}")
            elif state[name].dtype.kind != "f":
                problems.append(f"{name}: expected floating-point weights, got {state[name].dtype}")
        if problems:
            raise ValueError(f"{type(self).__name__}: {source} does not fit this network: " + "; ".join(problems))
        for lname, layer in self._layers:
            for store in (layer.params, layer.buffers):
                for pname, p in list(store.items()):
                    store[pname] = get_array_module(p).asarray(state[f"{lname}.{pname}"], dtype=p.dtype)

    def save(self, path):
        """Save the weights to a .npz file atomically (temp file, then rename)."""
        save_npz_atomic(path, self.state_dict())

    def load(self, path):
        """Load weights saved by ``save``; refuses a file whose names or shapes differ."""
        self.load_state_dict(load_npz(path), source=str(path))
        return self


class Sequential(Network):
    """Named layers applied in order: x (N, ...) -> scores (N, C)."""

    def __init__(self, layers, input_shape=None):
        self.input_shape = None if input_shape is None else tuple(input_shape)  # per image, if known
        self._layers = []
        for item in layers:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                raise TypeError(f"Sequential takes (name, layer) pairs, got {item!r}")
            self.add(*item)
        self.activations = {}
        self._ran = []          # names of the layers the last forward ran through

    def add(self, name, layer):
        """Append a layer under ``name`` (names are unique)."""
        if name in self.names:
            raise ValueError(f"Sequential: duplicate layer name {name!r}")
        layer.name = name
        self._layers.append((name, layer))

    # ----- passes ---------------------------------------------------------------
    def forward(self, x, train=False, keep=False, upto=None):
        """Run x (N, ...) through the layers -> the last (or ``upto``) layer's output.

        keep: store every layer's output in ``self.activations`` (name -> array).
        upto: stop after the layer of that name (backward then starts there).
        """
        _check_finite(x)
        stop = self.index(upto) if upto is not None else len(self._layers) - 1
        self.activations = {}
        self._ran = []
        for name, layer in self._layers[:stop + 1]:
            x = layer.forward(x, train)
            self._ran.append(name)
            if keep:
                self.activations[name] = x
        return x

    def __call__(self, x, train=False):
        return self.forward(x, train)

    def backward(self, dy, input_grad=True):
        """Backprop dy (shape of the last forward output) to the input; fills every layer's grads.

        input_grad=False: return None and let the first layer skip its input
        gradient (training never uses the gradient of the images).
        """
        if not self._ran:
            raise RuntimeError("Sequential: backward called before forward")
        for name in reversed(self._ran[1:]):
            dy = self[name].backward(dy)
        first = self[self._ran[0]]
        if not input_grad:      # a layer class of one's own may lack backward_params
            getattr(first, "backward_params", first.backward)(dy)
            return None
        return first.backward(dy)

    def reverse(self, signal, start_layer, rule="deconvnet", lrn="skip"):
        """Pass ``signal`` (shaped like ``start_layer``'s output) down to pixels.

        Each layer from ``start_layer`` down applies its ``reverse`` step with
        the switches and inputs of the last forward. Returns (N, C, H, W) like the input.
        """
        check_reverse_options(rule, lrn)
        stop = self.index(start_layer)
        if start_layer not in self._ran:
            raise RuntimeError(f"Sequential: run forward through {start_layer!r} before reverse")
        for name, layer in reversed(self._layers[:stop + 1]):
            signal = layer.reverse(signal, rule, lrn)
        return signal

    # ----- shapes -----------------------------------------------------------------
    def output_shapes(self, input_shape):
        """Per-image output shape of every layer for a per-image input shape: list of (name, shape)."""
        shapes, shape = [], tuple(input_shape)
        for name, layer in self._layers:
            shape = tuple(layer.output_shape(shape))
            shapes.append((name, shape))
        return shapes

    def summary(self, input_shape):
        """A printable table: layer, kind, output shape, parameter count."""
        rows = [f"{'layer':<10}{'kind':<22}{'output':<20}{'params':>12}",
                f"{'input':<10}{'':<22}{str(tuple(input_shape)):<20}{'':>12}"]
        total = 0
        for (name, shape), (_, layer) in zip(self.output_shapes(input_shape), self._layers):
            count = sum(int(p.size) for p in layer.params.values())
            total += count
            rows.append(f"{name:<10}{type(layer).__name__:<22}{str(shape):<20}{count:>12,}")
        rows.append(f"{'total':<52}{total:>12,}")
        return "\n".join(rows)

    def __repr__(self):
        lines = [f"  ({name}): {layer!r}" for name, layer in self._layers]
        return "Sequential(\n" + "\n".join(lines) + "\n)"
