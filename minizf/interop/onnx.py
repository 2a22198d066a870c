"""ONNX in and out: ``save_onnx(net, path)`` and ``load_onnx(path)``.

ONNX is the exchange format most frameworks write, so a network trained
anywhere can be looked at with the deconvnet, and a minizf model runs in any
ONNX runtime. Only a chain of the layers minizf has is read:

    Conv (group 1, dilation 1), Relu, MaxPool (dilation 1, ceil mode or not),
    AveragePool, GlobalAveragePool, LRN,
    Gemm or MatMul + Add (a constant weight), Flatten, Reshape to (N, -1),
    Dropout, Identity

and anything else is refused, naming the first node that is not. Layers keep
their node names when those are plain, unique words (as in a file minizf
wrote); otherwise they get the paper's names (conv1, relu1, pool1, ..., fc6). Conventions
converted here: ONNX's LRN divides alpha by the size, as Caffe's does (minizf
uses the paper's alpha as it is). PyTorch's exporter writes LocalResponseNorm
as a dozen elementary operations rather than one LRN node; such a graph is
refused at its first elementary node (models without LRN, like torchvision's
AlexNet, load).

A file written here carries the mean image and minizf's record of the model
in its metadata, so ``load_onnx`` gives (net, mean, meta) back; a foreign file
gives a None mean (the figure commands then take ``--mean``).
"""
import base64
import json
import os
import re

import numpy as np

from ..layers import LRN, AdaptiveAvgPool2D, AvgPool2D, Conv2D, Dropout, Flatten, Linear, MaxPool2D, ReLU
from ..net import Sequential

SUPPORTED = ("Conv, Relu, MaxPool, AveragePool, GlobalAveragePool, LRN, Gemm, MatMul+Add, Flatten, "
             "Reshape (N, -1), Dropout, Identity")
OPSET = 17


def _onnx():
    try:
        import onnx
    except ImportError:                      # pragma: no cover - depends on the machine
        raise ImportError("ONNX files need the onnx package: pip install 'minizf[onnx]'") from None
    return onnx


# ---- out --------------------------------------------------------------------------------------

def _pads(pad):
    return [int(pad[0]), int(pad[1]), int(pad[0]), int(pad[1])]          # top, left, bottom, right


def _nodes(name, layer, x, helper, numpy_helper):
    """(nodes, initializers) computing layer ``name`` from tensor x into tensor ``name``."""
    from ..backend import to_numpy
    if isinstance(layer, Conv2D):
        W, b = (numpy_helper.from_array(to_numpy(layer.params[k]).astype(np.float32), f"{name}.{k}") for k in "Wb")
        return [helper.make_node("Conv", [x, W.name, b.name], [name], name=name, kernel_shape=list(layer.kernel_size),
                                 strides=list(layer.stride), pads=_pads(layer.pad))], [W, b]
    if isinstance(layer, Linear):
        W, b = (numpy_helper.from_array(to_numpy(layer.params[k]).astype(np.float32), f"{name}.{k}") for k in "Wb")
        return [helper.make_node("Gemm", [x, W.name, b.name], [name], name=name, transB=1)], [W, b]
    if isinstance(layer, ReLU):
        return [helper.make_node("Relu", [x], [name], name=name)], []
    if isinstance(layer, MaxPool2D):
        return [helper.make_node("MaxPool", [x], [name], name=name, kernel_shape=list(layer.kernel_size),
                                 strides=list(layer.stride), pads=_pads(layer.pad),
                                 ceil_mode=int(layer.ceil_mode))], []
    if isinstance(layer, AvgPool2D):
        return [helper.make_node("AveragePool", [x], [name], name=name, kernel_shape=list(layer.kernel_size),
                                 strides=list(layer.stride), pads=_pads(layer.pad), ceil_mode=int(layer.ceil_mode),
                                 count_include_pad=int(layer.count_include_pad))], []
    if isinstance(layer, AdaptiveAvgPool2D) and layer.output_size == (1, 1):
        return [helper.make_node("GlobalAveragePool", [x], [name], name=name)], []
    if isinstance(layer, LRN):
        return [helper.make_node("LRN", [x], [name], name=name, size=layer.size, alpha=layer.alpha * layer.size,
                                 beta=layer.beta, bias=layer.k)], []
    if isinstance(layer, Dropout):                    # the identity at inference, as minizf's is
        ratio = numpy_helper.from_array(np.array(layer.p, dtype=np.float32), f"{name}.ratio")
        return [helper.make_node("Dropout", [x, ratio.name], [name], name=name)], [ratio]
    if isinstance(layer, Flatten):
        return [helper.make_node("Flatten", [x], [name], name=name, axis=1)], []
    raise ValueError(f"save_onnx: layer {name!r} is a {type(layer).__name__}, which has no ONNX form here")


def _encode_mean(mean):
    mean = np.asarray(mean, dtype=np.float32)
    return json.dumps({"shape": list(mean.shape), "data": base64.b64encode(mean.tobytes()).decode()})


def save_onnx(net, path, mean=None, meta=None, input_shape=None):
    """Write ``net`` as an ONNX graph (opset 17, float32, any batch size); returns the path.

    The mean image and ``meta`` (minizf's record: classes, model name) go in the
    file's metadata, so ``load_onnx`` returns them.
    """
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper
    shape = tuple(input_shape or net.input_shape or ())
    if len(shape) != 3:
        raise ValueError("save_onnx: the network does not know its input shape; give input_shape=(C, H, W)")
    nodes, inits, x = [], [], "input"
    for name, layer in net:
        more, weights = _nodes(name, layer, x, helper, numpy_helper)
        nodes += more
        inits += weights
        x = name
    nodes[-1].output[0] = "output"             # the node keeps the layer's name
    graph = helper.make_graph(nodes, "minizf", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                            ["batch", *shape])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT,
                                                             ["batch", *net.output_shapes(shape)[-1][1]])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="minizf")
    helper.set_model_props(model, {"minizf.meta": json.dumps(dict(meta or {})),
                                   **({"minizf.mean": _encode_mean(mean)} if mean is not None else {})})
    onnx.checker.check_model(model)
    from ..io import _write_atomic
    _write_atomic(path, "wb", lambda f: f.write(model.SerializeToString()))
    return path


# ---- in ---------------------------------------------------------------------------------------

class _Graph:
    """The chain of nodes of an ONNX graph, with its constants."""

    def __init__(self, model, source):
        from onnx import numpy_helper
        self.source = source
        self.consts = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        self.nodes = []
        for node in model.graph.node:
            if node.domain not in ("", "ai.onnx"):
                self.refuse(node, f"is in the operator domain {node.domain!r}, not ONNX's own")
            if node.op_type == "Constant":
                if len(node.attribute) != 1 or node.attribute[0].name != "value" or len(node.output) != 1:
                    self.refuse(node, "is a Constant without a single tensor value")
                self.consts[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
            elif not node.input or not node.output:
                self.refuse(node, "has no inputs" if not node.input else "has no outputs")
            else:
                self.nodes.append(node)
        if not self.nodes:
            raise ValueError(f"{source}: the graph holds no layers")
        inputs = [i.name for i in model.graph.input if i.name not in self.consts]
        if len(inputs) != 1:
            raise ValueError(f"{source}: expected one image input, found {inputs}")
        self.input = model.graph.input[[i.name for i in model.graph.input].index(inputs[0])]

    def const(self, node, i):
        name = node.input[i] if i < len(node.input) else ""
        if name not in self.consts:
            self.refuse(node, f"input {i} ({name or 'missing'}) is not a constant")
        return self.consts[name]

    def refuse(self, node, why):
        label = node.name or (node.output[0] if node.output else "unnamed")
        raise ValueError(f"{self.source}: node {label!r} ({node.op_type}) {why}; "
                         f"minizf reads chains of: {SUPPORTED}")


def _attrs(node):
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _symmetric_pads(graph, node, attrs, rank=2):
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", b"VALID", "NOTSET", "VALID"):
        graph.refuse(node, f"has auto_pad={attrs['auto_pad']!r}")
    pads = list(attrs.get("pads", [0] * 2 * rank))
    if pads[:rank] != pads[rank:]:
        graph.refuse(node, f"has uneven padding {pads}")
    if any(d != 1 for d in attrs.get("dilations", [1] * rank)):
        graph.refuse(node, f"has dilations {attrs['dilations']}")
    return tuple(pads[:rank])


def _conv(graph, node, attrs):
    if attrs.get("group", 1) != 1:
        graph.refuse(node, f"has group={attrs['group']}")
    W = graph.const(node, 1).astype(np.float32)
    if W.ndim != 4:
        graph.refuse(node, f"is a {W.ndim - 2}-D convolution (weights {W.shape}); minizf reads 2-D ones")
    if "kernel_shape" in attrs and tuple(attrs["kernel_shape"]) != W.shape[2:]:
        graph.refuse(node, f"has kernel_shape {list(attrs['kernel_shape'])} but weights of {W.shape[2:]}")
    pad = _symmetric_pads(graph, node, attrs)
    layer = Conv2D(W.shape[1], W.shape[0], W.shape[2:], tuple(attrs.get("strides", [1, 1])), pad)
    layer.params["W"] = W
    layer.params["b"] = graph.const(node, 2).astype(np.float32) if len(node.input) > 2 else np.zeros(W.shape[0],
                                                                                                      np.float32)
    return layer


def _gemm(graph, node, attrs):
    if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
        graph.refuse(node, "has transA, alpha or beta set")
    W = graph.const(node, 1).astype(np.float32)
    W = W if attrs.get("transB", 0) else W.T                 # minizf keeps (out, in)
    layer = Linear(W.shape[1], W.shape[0])
    layer.params["W"] = np.ascontiguousarray(W)
    layer.params["b"] = graph.const(node, 2).astype(np.float32).reshape(-1) if len(node.input) > 2 else \
        np.zeros(W.shape[0], np.float32)
    return layer


def _matmul_add(graph, node, follower):
    W = graph.const(node, 1).astype(np.float32).T             # MatMul's (in, out)
    layer = Linear(W.shape[1], W.shape[0])
    layer.params["W"] = np.ascontiguousarray(W)
    bias = None
    if follower is not None and follower.op_type == "Add":
        other = [i for i in follower.input if i != node.output[0]]
        bias = graph.consts.get(other[0]) if other else None
    layer.params["b"] = np.zeros(W.shape[0], np.float32) if bias is None else bias.astype(np.float32).reshape(-1)
    return layer, bias is not None


def _layer(graph, node, follower):
    """(layer or None to skip, nodes consumed) for one node of the chain."""
    attrs, op = _attrs(node), node.op_type
    if op == "Conv":
        return _conv(graph, node, attrs), 1
    if op == "Relu":
        return ReLU(), 1
    if op == "MaxPool":
        if attrs.get("storage_order", 0) or len(node.output) > 1 and node.output[1]:
            graph.refuse(node, "asks for indices or a storage order")
        kernel = tuple(attrs["kernel_shape"])
        pad = _symmetric_pads(graph, node, attrs)
        return MaxPool2D(kernel, tuple(attrs.get("strides", [1, 1])), pad, bool(attrs.get("ceil_mode", 0))), 1
    if op == "AveragePool":
        pad = _symmetric_pads(graph, node, attrs)
        return AvgPool2D(tuple(attrs["kernel_shape"]), tuple(attrs.get("strides", [1, 1])), pad,
                         bool(attrs.get("ceil_mode", 0)), bool(attrs.get("count_include_pad", 0))), 1
    if op == "GlobalAveragePool":
        return AdaptiveAvgPool2D(1), 1
    if op == "LRN":
        size = int(attrs.get("size", 0))
        if size < 1:
            graph.refuse(node, f"has size {size} (at least 1)")
        return LRN(size, attrs.get("alpha", 1e-4) / size, attrs.get("beta", 0.75), attrs.get("bias", 1.0)), 1
    if op == "Gemm":
        return _gemm(graph, node, attrs), 1
    if op == "MatMul":
        layer, with_add = _matmul_add(graph, node, follower)
        return layer, 2 if with_add else 1
    if op == "Flatten":
        if attrs.get("axis", 1) != 1:
            graph.refuse(node, f"flattens from axis {attrs['axis']}")
        return Flatten(), 1
    if op == "Reshape":
        shape = list(graph.const(node, 1))
        if len(shape) != 2:
            graph.refuse(node, f"reshapes to {shape}, not (batch, features)")
        return Flatten(), 1
    if op == "Dropout":                                 # the identity at inference, as minizf's is
        ratio = graph.consts.get(node.input[1]) if len(node.input) > 1 else None
        return Dropout(float(attrs.get("ratio", 0.5 if ratio is None else ratio))), 1
    if op == "Identity":
        return None, 1
    graph.refuse(node, "is not supported")


def _plain_names(names):
    return len(set(names)) == len(names) and all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", n) for n in names)


def paper_names(layers):
    """The paper's names for a chain of layers: conv1, relu1, pool1, norm1, ..., flatten, fc6, relu6, drop6, ...

    Exporters name nodes after code paths ("/features/features.0/Conv"); these
    names let ``--layer conv5`` and the figures' defaults work on any such model.
    Each ReLU, pooling, LRN and dropout takes the number of the conv or fc layer before it.
    """
    kinds = {Conv2D: "conv", Linear: "fc", ReLU: "relu", MaxPool2D: "pool", AvgPool2D: "avgpool",
             AdaptiveAvgPool2D: "avgpool", LRN: "norm", Dropout: "drop"}
    names, number, used = [], 0, set()
    for layer in layers:
        kind = kinds.get(type(layer), "flatten")
        if kind in ("conv", "fc"):
            number += 1
        name = kind if kind == "flatten" else f"{kind}{number}"
        while name in used:
            name += "b"
        used.add(name)
        names.append(name)
    return names


def load_onnx(path):
    """(net, mean or None, meta) of an ONNX file holding a chain of supported layers."""
    onnx = _onnx()
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file")
    try:
        model = onnx.load(str(path))
    except Exception as err:                           # noqa: BLE001 - protobuf raises many kinds
        raise ValueError(f"{path}: not a readable ONNX file ({type(err).__name__}: {err})") from None
    graph = _Graph(model, str(path))
    layers, current, i = [], graph.input.name, 0
    names = set()
    while i < len(graph.nodes):
        node = graph.nodes[i]
        if node.input[0] != current:
            graph.refuse(node, f"reads {node.input[0]!r}, not the previous layer's output {current!r}: "
                               "not a chain")
        layer, used = _layer(graph, node, graph.nodes[i + 1] if i + 1 < len(graph.nodes) else None)
        current = graph.nodes[i + used - 1].output[0]
        if layer is not None:
            name = node.name or node.output[0]
            name = name if name not in names else f"{name}_{len(layers)}"
            names.add(name)
            layers.append((name, layer))
        i += used
    if not _plain_names([name for name, _ in layers]):
        layers = list(zip(paper_names([layer for _, layer in layers]), [layer for _, layer in layers]))
    props = {p.key: p.value for p in model.metadata_props}
    meta = json.loads(props.get("minizf.meta", "{}"))
    dims = [d.dim_value for d in graph.input.type.tensor_type.shape.dim]
    input_shape = tuple(dims[1:]) if len(dims) == 4 and all(dims[1:]) else None
    mean = None
    if "minizf.mean" in props:
        record = json.loads(props["minizf.mean"])
        mean = np.frombuffer(base64.b64decode(record["data"]), dtype=np.float32).reshape(record["shape"]).copy()
    meta.setdefault("model", f"onnx:{path}")
    return Sequential(layers, input_shape=input_shape), mean, meta
