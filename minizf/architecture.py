"""A network's layers as plain data, and back: what a model file records of a network that
is not one of ``models``' named builders (one converted from PyTorch or ONNX).

    describe(net)  -> [{"name": "conv1", "kind": "Conv2D", "in": 3, "out": 96, "kernel": [7, 7], ...}, ...]
    build(desc)    -> Sequential with those layers (fresh weights; load_state_dict fills them)

A Graph's entries also name their inputs (``"inputs": ["conv2", "relu1"]``) and build a Graph.
"""
from .graph import Graph
from .layers import (LRN, Add, AdaptiveAvgPool2D, AvgPool2D, BatchNorm2D, Concat, Conv2D, Dropout, Flatten, Linear,
                     MaxPool2D, ReLU)
from .net import Sequential


def _describe(layer):
    if isinstance(layer, Conv2D):
        return {"kind": "Conv2D", "in": layer.in_channels, "out": layer.out_channels,
                "kernel": list(layer.kernel_size), "stride": list(layer.stride), "pad": list(layer.pad)}
    if isinstance(layer, Linear):
        out, inp = layer.params["W"].shape
        return {"kind": "Linear", "in": int(inp), "out": int(out)}
    if isinstance(layer, MaxPool2D):
        return {"kind": "MaxPool2D", "kernel": list(layer.kernel_size), "stride": list(layer.stride),
                "pad": list(layer.pad), "ceil_mode": layer.ceil_mode}
    if isinstance(layer, AvgPool2D):
        return {"kind": "AvgPool2D", "kernel": list(layer.kernel_size), "stride": list(layer.stride),
                "pad": list(layer.pad), "ceil_mode": layer.ceil_mode, "count_include_pad": layer.count_include_pad}
    if isinstance(layer, AdaptiveAvgPool2D):
        return {"kind": "AdaptiveAvgPool2D", "output": list(layer.output_size)}
    if isinstance(layer, LRN):
        return {"kind": "LRN", "size": layer.size, "alpha": layer.alpha, "beta": layer.beta, "k": layer.k}
    if isinstance(layer, Dropout):
        return {"kind": "Dropout", "p": layer.p}
    if isinstance(layer, BatchNorm2D):
        return {"kind": "BatchNorm2D", "channels": layer.channels, "eps": layer.eps, "momentum": layer.momentum}
    if isinstance(layer, (ReLU, Flatten, Add, Concat)):
        return {"kind": type(layer).__name__}
    raise ValueError(f"describe: layer {layer.name!r} is a {type(layer).__name__}, which a model file "
                     "cannot record")


def describe(net):
    """The layers of a Sequential (or Graph, with each node's inputs) as a list of JSON-able dicts, in order."""
    wiring = getattr(net, "inputs", None)
    entries = [dict(name=name, **_describe(layer)) for name, layer in net]
    if wiring is not None:
        for entry in entries:
            entry["inputs"] = list(wiring[entry["name"]])
        entries[-1]["output"] = net.output
    return entries


_BUILD = {
    "Conv2D": lambda d: Conv2D(d["in"], d["out"], d["kernel"], d["stride"], d["pad"]),
    "Linear": lambda d: Linear(d["in"], d["out"]),
    "MaxPool2D": lambda d: MaxPool2D(d["kernel"], d["stride"], d["pad"], d["ceil_mode"]),
    "AvgPool2D": lambda d: AvgPool2D(d["kernel"], d["stride"], d["pad"], d["ceil_mode"], d["count_include_pad"]),
    "AdaptiveAvgPool2D": lambda d: AdaptiveAvgPool2D(d["output"]),
    "LRN": lambda d: LRN(d["size"], d["alpha"], d["beta"], d["k"]),
    "Dropout": lambda d: Dropout(d["p"]),
    "ReLU": lambda d: ReLU(),
    "Flatten": lambda d: Flatten(),
    "BatchNorm2D": lambda d: BatchNorm2D(d["channels"], d["eps"], d["momentum"]),
    "Add": lambda d: Add(),
    "Concat": lambda d: Concat(),
}


from .layers import MAX_WEIGHTS  # noqa: E402  (a record of a 10^6 x 10^6 layer is refused before allocation)


def _weights_asked(entry):
    """How many weights a recorded layer would allocate (before building it)."""
    if entry.get("kind") == "Conv2D":
        return int(entry["in"]) * int(entry["out"]) * int(entry["kernel"][0]) * int(entry["kernel"][1])
    if entry.get("kind") == "Linear":
        return int(entry["in"]) * int(entry["out"])
    if entry.get("kind") == "BatchNorm2D":
        return int(entry["channels"])
    return 0


def build(description, input_shape=None, source="architecture"):
    """A Sequential (or Graph) from ``describe``'s list; a ValueError naming the entry that does not
    make sense or would take more than MAX_WEIGHTS weights."""
    layers = []
    for i, entry in enumerate(description):
        try:
            if _weights_asked(entry) > MAX_WEIGHTS:
                raise ValueError(f"{source}: layer {i} ({entry!r:.80}) asks for {_weights_asked(entry):,} weights, "
                                 f"more than the {MAX_WEIGHTS:,} a minizf model may hold")
            layers.append((str(entry["name"]), _BUILD[entry["kind"]](entry)))
        except KeyError as err:
            raise ValueError(f"{source}: layer {i} ({entry!r:.80}) lacks or has an unknown {err}") from None
        except (TypeError, AttributeError) as err:
            raise ValueError(f"{source}: layer {i} ({entry!r:.80}) is malformed ({err})") from None
    if not any(isinstance(entry, dict) and "inputs" in entry for entry in description):
        return Sequential(layers, input_shape=input_shape)
    try:
        nodes = [(name, layer, entry["inputs"]) for (name, layer), entry in zip(layers, description)]
        return Graph(nodes, input_shape, output=description[-1].get("output"))
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{source}: the recorded graph does not hold together ({err})") from None
