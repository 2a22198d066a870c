"""Graph: named layers that read named inputs, for networks that are not a chain.

A residual block reads one tensor twice (the fork) and adds two branches (the
join); SqueezeNet's fire module concatenates two. Each node names the nodes it
reads ("input" is the image batch)::

    net = Graph([("conv1", Conv2D(3, 8, 3, pad=1), "input"),
                 ("relu1", ReLU(), "conv1"),
                 ("conv2", Conv2D(8, 8, 3, pad=1), "relu1"),
                 ("add", Add(), ["conv2", "relu1"]),          # relu1 forks: read twice
                 ...])

Nodes run in the order given, which must be topological (every input defined
before it is read, as ONNX files list their nodes). Backward and the
deconvnet's reverse walk the nodes in the opposite order and apply one rule at
forks, the sum rule: a node read by several others receives the sum of what
they send back. Add sends its signal to every input, Concat hands each input
its own slice; every other layer is the same as in a Sequential.
"""
from .layers import check_reverse_options
from .net import Network, _check_finite

INPUT = "input"


def _inputs(spec, name):
    """A node's inputs as a list of names: "conv1" or ["conv2", "relu1"]."""
    inputs = [spec] if isinstance(spec, str) else list(spec) if isinstance(spec, (list, tuple)) else None
    if not inputs or not all(isinstance(i, str) for i in inputs):
        raise TypeError(f"Graph: node {name!r} must name its inputs (a name or a list of names), got {spec!r}")
    return inputs


class Graph(Network):
    """Named layers wired by name: x (N, ...) -> the ``output`` node's output (default: the last node)."""

    def __init__(self, nodes, input_shape=None, output=None):
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self._layers, self.inputs = [], {}
        for item in nodes:
            if not (isinstance(item, tuple) and len(item) == 3 and isinstance(item[0], str)):
                raise TypeError(f"Graph takes (name, layer, inputs) triples, got {item!r}")
            self.add(*item)
        if not self._layers:
            raise ValueError("Graph: no nodes")
        self.output = output or self._layers[-1][0]
        self[self.output]
        self.activations, self._ran = {}, []

    def add(self, name, layer, inputs):
        """Append a node reading ``inputs`` (names of earlier nodes, or "input")."""
        inputs = _inputs(inputs, name)
        if name in self.inputs or name == INPUT:
            raise ValueError(f"Graph: duplicate node name {name!r}")
        for i in inputs:
            if i != INPUT and i not in self.inputs:
                raise ValueError(f"Graph: node {name!r} reads {i!r}, which is not defined before it")
        many = getattr(layer, "many_inputs", False)
        if (len(inputs) < 2) if many else (len(inputs) != 1):
            what = "two or more inputs" if many else "one input"
            raise ValueError(f"Graph: node {name!r} ({type(layer).__name__}) takes {what}, got {inputs}")
        layer.name = name
        self._layers.append((name, layer))
        self.inputs[name] = inputs

    def consumers(self, name):
        """The nodes that read ``name``, in order."""
        return [n for n, _ in self._layers if name in self.inputs[n]]

    def ancestors(self, name):
        """``name`` and every node it depends on, in forward order."""
        needed, todo = set(), [name]
        while todo:
            node = todo.pop()
            if node != INPUT and node not in needed:
                needed.add(node)
                todo.extend(self.inputs[node])
        return [n for n, _ in self._layers if n in needed]

    def is_chain(self):
        """True when every node reads the one before it: a Sequential would do."""
        previous = INPUT
        for name, _ in self._layers:
            if self.inputs[name] != [previous]:
                return False
            previous = name
        return previous == self.output

    # ----- passes ---------------------------------------------------------------
    def forward(self, x, train=False, keep=False, upto=None):
        """Run x (N, ...) through the nodes ``upto`` (default: the output) depends on -> its output.

        keep: store every node's output in ``self.activations``."""
        _check_finite(x)
        target = upto if upto is not None else self.output
        run = self.ancestors(self[target].name)
        values, readers = {INPUT: x}, {n: 0 for n in [INPUT] + run}
        for name in run:
            for i in self.inputs[name]:
                readers[i] += 1
        self.activations, self._ran = {}, []
        for name in run:
            layer, args = self[name], [values[i] for i in self.inputs[name]]
            values[name] = layer.forward(args if getattr(layer, "many_inputs", False) else args[0], train)
            self._ran.append(name)
            if keep:
                self.activations[name] = values[name]
            for i in self.inputs[name]:            # free what no later node reads
                readers[i] -= 1
                if readers[i] == 0 and i != target:
                    values.pop(i, None)
        return values[target]

    def __call__(self, x, train=False):
        return self.forward(x, train)

    def _down(self, signal, start, step):
        """Walk the nodes that ran, last to first, from ``start``: each node gets the sum of what
        its readers sent (the sum rule at forks) and ``step(name, layer, signal)`` sends its inputs'
        share down. Returns what reached the input."""
        arriving = {start: signal}
        for name in reversed(self._ran):
            if name not in arriving:
                continue            # not on a path to start
            layer, inputs = self[name], self.inputs[name]
            sent = step(name, layer, arriving.pop(name))
            sent = sent if getattr(layer, "many_inputs", False) else [sent]
            for i, s in zip(inputs, sent):
                if s is not None:
                    arriving[i] = arriving[i] + s if i in arriving else s
        return arriving.get(INPUT)

    def backward(self, dy, input_grad=True):
        """Backprop dy (shape of the last forward output) to the input; fills every node's grads.

        input_grad=False: the nodes that read the images skip their input gradient."""
        if not self._ran:
            raise RuntimeError("Graph: backward called before forward")

        def step(name, layer, g):
            if not input_grad and self.inputs[name] == [INPUT]:
                getattr(layer, "backward_params", layer.backward)(g)
                return None
            return layer.backward(g)
        return self._down(dy, self._ran[-1], step)

    def reverse(self, signal, start_layer, rule="deconvnet", lrn="skip"):
        """Pass ``signal`` (shaped like ``start_layer``'s output) down to pixels through every path,
        each node applying its ``reverse`` step; forks sum. Returns (N, C, H, W) like the input."""
        check_reverse_options(rule, lrn)
        self[start_layer]
        if start_layer not in self._ran:
            raise RuntimeError(f"Graph: run forward through {start_layer!r} before reverse")
        return self._down(signal, start_layer, lambda name, layer, s: layer.reverse(s, rule, lrn))

    # ----- shapes -----------------------------------------------------------------
    def output_shapes(self, input_shape):
        """Per-image output shape of every node for a per-image input shape: list of (name, shape)."""
        shapes = {INPUT: tuple(input_shape)}
        for name, layer in self._layers:
            ins = [shapes[i] for i in self.inputs[name]]
            shapes[name] = tuple(layer.output_shape(ins if getattr(layer, "many_inputs", False) else ins[0]))
        return [(name, shapes[name]) for name, _ in self._layers]

    def summary(self, input_shape):
        """A printable table: node, kind, inputs, output shape, parameter count."""
        shapes = self.output_shapes(input_shape)
        w = max(6, *(len(name) for name, _ in self._layers)) + 2
        wi = max(8, *(len(", ".join(self.inputs[name])) for name, _ in self._layers)) + 2
        rows = [f"{'node':<{w}}{'kind':<19}{'inputs':<{wi}}{'output':<16}{'params':>12}",
                f"{'input':<{w}}{'':<19}{'':<{wi}}{str(tuple(input_shape)):<16}{'':>12}"]
        total = 0
        for (name, shape), (_, layer) in zip(shapes, self._layers):
            count = sum(int(p.size) for p in layer.params.values())
            total += count
            rows.append(f"{name:<{w}}{type(layer).__name__:<19}{', '.join(self.inputs[name]):<{wi}}"
                        f"{str(shape):<16}{count:>12,}")
        rows.append(f"{'total':<{w + 19 + wi + 16}}{total:>12,}")
        return "\n".join(rows)

    def __repr__(self):
        lines = [f"  ({name} <- {', '.join(self.inputs[name])}): {layer!r}" for name, layer in self._layers]
        return "Graph(\n" + "\n".join(lines) + "\n)"
