"""ONNX in and out: ``save_onnx(net, path)`` and ``load_onnx(path)``.

ONNX is the exchange format most frameworks write, so a network trained
anywhere can be looked at with the deconvnet, and a minizf model runs in any
ONNX runtime. These nodes are read, wired in any way (a chain gives a
``Sequential``, anything else a ``Graph``: residual additions, concatenations):

    Conv (group 1, dilation 1), Relu, MaxPool (dilation 1, ceil mode or not),
    AveragePool, GlobalAveragePool, ReduceMean over H and W, LRN,
    BatchNormalization, Add (of two layers' outputs), Concat (channels),
    Gemm or MatMul + Add (a constant weight), Flatten, Reshape to (N, -1),
    Dropout, Identity

and anything else is refused, naming the first node that is not. Layers are
named after the PyTorch modules the exporter recorded (``layer3.1.conv2``;
both the TorchScript exporter's node names and the default dynamo exporter's
name scopes and weight names are read), else keep their node names when those
are plain, unique words (as in a file minizf wrote); otherwise they get the
paper's names (conv1, relu1, pool1, ..., fc6). Conventions
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
import collections
import json
import os
import re

import numpy as np

from ..graph import INPUT, Graph
from ..layers import (LRN, Add, AdaptiveAvgPool2D, AvgPool2D, BatchNorm2D, Concat, Conv2D, Dropout, Flatten, Linear,
                      MaxPool2D, ReLU)
from ..net import Sequential

SUPPORTED = ("Conv, Relu, MaxPool, AveragePool, GlobalAveragePool, ReduceMean (H, W), LRN, BatchNormalization, "
             "Add, Concat, Gemm, MatMul+Add, Flatten, Reshape (N, -1), Dropout, Identity")
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
    """(nodes, initializers) computing layer ``name`` from tensor x (a list for Add and Concat) into
    tensor ``name``."""
    from ..backend import to_numpy
    if isinstance(layer, Add):
        return [helper.make_node("Add", list(x), [name], name=name)], []
    if isinstance(layer, Concat):
        return [helper.make_node("Concat", list(x), [name], name=name, axis=1)], []
    if isinstance(layer, BatchNorm2D):
        arrays = [numpy_helper.from_array(to_numpy(v).astype(np.float32), f"{name}.{k}") for k, v in
                  (("gamma", layer.params["gamma"]), ("beta", layer.params["beta"]),
                   ("running_mean", layer.buffers["running_mean"]), ("running_var", layer.buffers["running_var"]))]
        return [helper.make_node("BatchNormalization", [x] + [a.name for a in arrays], [name], name=name,
                                 epsilon=layer.eps)], arrays
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
    wiring = getattr(net, "inputs", None)            # a Graph's nodes name their inputs
    for name, layer in net:
        if wiring is not None:
            x = wiring[name] if len(wiring[name]) > 1 else wiring[name][0]
        more, weights = _nodes(name, layer, x, helper, numpy_helper)
        nodes += more
        inits += weights
        x = name
    if wiring is None:
        nodes[-1].output[0] = "output"         # the node keeps the layer's name
    else:                                      # other nodes may read the output node: pass it on
        nodes.append(helper.make_node("Identity", [net.output], ["output"], name="output"))
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
        self.nodes, self.flattens = [], []
        for node in model.graph.node:
            if node.domain not in ("", "ai.onnx"):
                self.refuse(node, f"is in the operator domain {node.domain!r}, not ONNX's own")
            if node.op_type == "Constant":
                if len(node.attribute) != 1 or node.attribute[0].name != "value" or len(node.output) != 1:
                    self.refuse(node, "is a Constant without a single tensor value")
                self.consts[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
            elif node.op_type == "Identity" and node.input and node.input[0] in self.consts:
                # PyTorch's TorchScript exporter writes equal weights once (SqueezeNet's zero biases)
                # and gives the other users an Identity of it: a constant still
                self.consts[node.output[0]] = self.consts[node.input[0]]
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
        self.model_outputs = list(model.graph.output)
        dims = self.input.type.tensor_type.shape.dim
        self.batch = dims[0].dim_value if dims and dims[0].dim_value > 0 else None    # None: any batch size
        self.readers = collections.Counter(t for n in self.nodes for t in n.input)
        self.readers.update(o.name for o in self.model_outputs)

    def const(self, node, i):
        name = node.input[i] if i < len(node.input) else ""
        if name not in self.consts:
            self.refuse(node, f"input {i} ({name or 'missing'}) is not a constant")
        return self.consts[name]

    def refuse(self, node, why):
        label = node.name or (node.output[0] if node.output else "unnamed")
        raise ValueError(f"{self.source}: node {label!r} ({node.op_type}) {why}; "
                         f"minizf reads: {SUPPORTED}")


def _kernel_shape(graph, node, attrs):
    """A pooling node's kernel_shape (required by ONNX): two positive sizes, or the node refused by name."""
    kernel = attrs.get("kernel_shape")
    if not isinstance(kernel, (list, tuple)) or len(kernel) != 2 or not all(
            isinstance(k, int) and k > 0 for k in kernel):
        graph.refuse(node, f"has kernel_shape {kernel!r} (ONNX requires two positive sizes)")
    return tuple(kernel)


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
    layer.params["b"] = _bias(graph, node, 2, W.shape[0])
    return layer


def _bias(graph, node, i, out):
    """A node's bias input ``i``: (out,) float32, zeros when absent, else the node refused by name."""
    if len(node.input) <= i or not node.input[i]:
        return np.zeros(out, np.float32)
    b = graph.const(node, i)
    if b.shape != (out,):
        graph.refuse(node, f"has a bias of shape {list(b.shape)}, not [{out}]")
    return b.astype(np.float32)


def _gemm(graph, node, attrs):
    if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
        graph.refuse(node, "has transA, alpha or beta set")
    W = graph.const(node, 1).astype(np.float32)
    W = W if attrs.get("transB", 0) else W.T                 # minizf keeps (out, in)
    layer = Linear(W.shape[1], W.shape[0])
    layer.params["W"] = np.ascontiguousarray(W)
    b = graph.const(node, 2) if len(node.input) > 2 and node.input[2] else np.zeros(W.shape[0], np.float32)
    if b.size != W.shape[0] or b.ndim > 2:          # Gemm broadcasts C: (out,) or (1, out)
        graph.refuse(node, f"has a bias of shape {list(b.shape)}, not [{W.shape[0]}]")
    layer.params["b"] = b.astype(np.float32).reshape(-1)
    return layer


def _matmul_add(graph, node, follower):
    """(Linear, whether the next node was its bias): an Add right after is fused only when it adds a
    constant of one value per output to this MatMul's output and nothing else reads that output."""
    W = graph.const(node, 1).astype(np.float32)
    if W.ndim != 2:
        graph.refuse(node, f"multiplies by a constant of shape {list(W.shape)}, not (in, out)")
    W = W.T                                                   # MatMul's (in, out) as minizf's (out, in)
    layer = Linear(W.shape[1], W.shape[0])
    layer.params["W"] = np.ascontiguousarray(W)
    layer.params["b"] = np.zeros(W.shape[0], np.float32)
    out = node.output[0]
    if follower is None or follower.op_type != "Add" or list(follower.input).count(out) != 1 or \
            graph.readers[out] != 1:
        return layer, False
    other = [i for i in follower.input if i != out]
    bias = graph.consts.get(other[0]) if len(other) == 1 else None
    if bias is None or bias.size != W.shape[0] or bias.ndim > 2:
        return layer, False                                   # the Add is read as a node of its own
    layer.params["b"] = bias.astype(np.float32).reshape(-1)
    return layer, True


def _batch_norm(graph, node, attrs):
    if attrs.get("training_mode", 0):
        graph.refuse(node, "has training_mode=1 (minizf reads inference graphs: running statistics)")
    gamma, beta, mean, var = (graph.const(node, i).astype(np.float32).reshape(-1) for i in (1, 2, 3, 4))
    if not len(gamma) == len(beta) == len(mean) == len(var):
        graph.refuse(node, "has scale, bias, mean and variance of different lengths")
    eps = float(attrs.get("epsilon", 1e-5))
    if not (var.astype(np.float64) + eps > 0).all():        # NaN included: it would divide by sqrt(<= 0)
        graph.refuse(node, f"has a variance plus epsilon that is not positive (min variance {float(var.min())}, "
                           f"epsilon {eps})")
    layer = BatchNorm2D(len(gamma), eps=eps)
    layer.params = {"gamma": gamma, "beta": beta}
    layer.buffers = {"running_mean": mean, "running_var": var}
    return layer


def _reduce_mean(graph, node, attrs):
    axes = attrs.get("axes")
    if axes is None and len(node.input) > 1:             # opset 18 gives the axes as an input
        axes = graph.const(node, 1).tolist()
    if sorted(a % 4 for a in (axes or [])) != [2, 3] or not attrs.get("keepdims", 1):
        graph.refuse(node, f"averages over axes {axes} (keepdims {attrs.get('keepdims', 1)}); minizf reads the "
                           "mean over H and W that keeps them (global average pooling)")
    return AdaptiveAvgPool2D(1)


def _reshape(graph, node):
    """A Reshape that flattens each image: to (0 or the batch, -1), or to (0, -1 or the batch, F)
    where F is checked against the image's size once the network is built; else refused."""
    shape = [int(s) for s in graph.const(node, 1).reshape(-1)]
    batches = (0, graph.batch) if graph.batch else (0,)
    flat = len(shape) == 2 and (shape[1] == -1 and shape[0] in batches or
                                shape[1] > 0 and shape[0] in batches + (-1,))
    if not flat:
        graph.refuse(node, f"reshapes to {shape}, not to (batch, features) (a flatten)")
    if shape[1] > 0:
        graph.flattens.append((node, shape[1]))
    return Flatten()


def _layer(graph, node, follower, data):
    """(layer or None to skip, nodes consumed) for one node; data: its non-constant inputs."""
    attrs, op = _attrs(node), node.op_type
    if op == "Add":
        if len(data) != 2:
            graph.refuse(node, "adds a constant (only a MatMul's bias, right after it, is read)")
        return Add(), 1
    if op == "Concat":
        if attrs.get("axis") not in (1, -3):
            graph.refuse(node, f"concatenates along axis {attrs.get('axis')}, not the channels")
        return Concat(), 1
    if len(data) != 1:
        graph.refuse(node, f"reads {len(data)} layer outputs, not one")
    if op == "Conv":
        return _conv(graph, node, attrs), 1
    if op == "Relu":
        return ReLU(), 1
    if op == "BatchNormalization":
        return _batch_norm(graph, node, attrs), 1
    if op == "ReduceMean":
        return _reduce_mean(graph, node, attrs), 1
    if op == "MaxPool":
        if attrs.get("storage_order", 0) or len(node.output) > 1 and node.output[1]:
            graph.refuse(node, "asks for indices or a storage order")
        kernel = _kernel_shape(graph, node, attrs)
        pad = _symmetric_pads(graph, node, attrs)
        return MaxPool2D(kernel, tuple(attrs.get("strides", [1, 1])), pad, bool(attrs.get("ceil_mode", 0))), 1
    if op == "AveragePool":
        pad = _symmetric_pads(graph, node, attrs)
        return AvgPool2D(_kernel_shape(graph, node, attrs), tuple(attrs.get("strides", [1, 1])), pad,
                         bool(attrs.get("ceil_mode", 0)), bool(attrs.get("count_include_pad", 0))), 1
    if op == "GlobalAveragePool":
        return AdaptiveAvgPool2D(1), 1
    if op == "LRN":
        size = int(attrs.get("size", 0))
        if size < 1 or size % 2 == 0:
            graph.refuse(node, f"has size {size} (ONNX's LRN sums over an odd number of channels, at least 1)")
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
        return _reshape(graph, node), 1
    if op == "Dropout":                                 # the identity at inference, as minizf's is
        if len(node.input) > 2 and node.input[2] and (node.input[2] not in graph.consts or
                                                      bool(graph.consts[node.input[2]])):
            graph.refuse(node, "runs in training mode (minizf reads inference graphs, where Dropout passes "
                               "its input on)")
        ratio = graph.consts.get(node.input[1]) if len(node.input) > 1 and node.input[1] else None
        return Dropout(float(attrs.get("ratio", 0.5 if ratio is None else ratio))), 1
    if op == "Identity":
        return None, 1
    graph.refuse(node, "is not supported")


#: Nodes that are a PyTorch module's call; the others are functions called inside a module's
#: forward (x + identity, torch.cat, torch.flatten) and are named after that module and themselves.
MODULE_OPS = ("Conv", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean", "LRN",
              "BatchNormalization", "Gemm", "MatMul", "Dropout")


def _scope_path(node):
    """The module path an exporter recorded for a node ("layer1.0.conv1"), "" at the top, or None.

    The dynamo exporter keeps it in the node's metadata (``pkg.torch.onnx.name_scopes``: the
    module paths from the root, then the operation); the TorchScript one in the node's name
    ("/layer2/layer2.0/downsample/downsample.0/Conv": each scope relative to the one before, a
    Sequential's child repeating the Sequential's attribute, then the op)."""
    meta = {p.key: p.value for p in node.metadata_props}
    scopes = meta.get("pkg.torch.onnx.name_scopes")
    if scopes is not None:
        try:
            path = json.loads(scopes.replace("'", '"')) if len(scopes) < 4096 else None
        except ValueError:
            path = None
        if not isinstance(path, list) or not all(isinstance(p, str) for p in path):
            return None
        return path[1:-1][-1] if len(path) > 2 else ""
    if node.name.startswith("/"):       # a child of a Sequential is "<its attribute>.<index>"
        module = ""
        for segment in node.name.split("/")[1:-1]:
            last = module.rsplit(".", 1)[-1]
            if module and segment.startswith(last + "."):
                module += segment[len(last):]
            else:
                module = f"{module}.{segment}" if module else segment
        return module
    return None


def _module_name(node, layer):
    """A layer's name from the PyTorch module it came from, or None when the file does not say."""
    weight = node.input[1] if len(node.input) > 1 else ""
    if node.op_type in ("Conv", "Gemm", "MatMul", "BatchNormalization") and weight.endswith(".weight"):
        return weight[:-len(".weight")]                 # the parameter's own path survives fusion
    path = _scope_path(node)
    if path is None:
        return None
    if node.op_type in MODULE_OPS and path:
        return path
    return f"{path}.{type(layer).__name__.lower()}" if path else type(layer).__name__.lower()


def _plain_names(names):
    return len(set(names)) == len(names) and all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", n) for n in names)


def paper_names(layers):
    """The paper's names for layers in forward order: conv1, relu1, pool1, norm1, ..., flatten, fc6, relu6, drop6, ...

    Exporters name nodes after code paths ("/features/features.0/Conv"); these
    names let ``--layer conv5`` and the figures' defaults work on any such model.
    Each ReLU, pooling, LRN, dropout, batch norm, sum and concatenation takes the number of
    the conv or fc layer before it.
    """
    kinds = {Conv2D: "conv", Linear: "fc", ReLU: "relu", MaxPool2D: "pool", AvgPool2D: "avgpool",
             AdaptiveAvgPool2D: "avgpool", LRN: "norm", Dropout: "drop", BatchNorm2D: "bn", Add: "add",
             Concat: "cat"}
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


def _unique(names):
    """Names made unique by a suffix on repeats: relu, relu_1, relu_2 (as PyTorch's exporter does)."""
    seen, out = set(), []
    for name in names:
        candidate, k = name, 0
        while candidate in seen:
            k += 1
            candidate = f"{name}_{k}"
        seen.add(candidate)
        out.append(candidate)
    return out


def _check_finite(graph, node, layer):
    """Weights with NaN or inf would only ever give NaN: refused by node and array (as model files are)."""
    arrays = {**getattr(layer, "params", {}), **getattr(layer, "buffers", {})}
    for key, value in arrays.items():
        if not np.isfinite(value).all():
            graph.refuse(node, f"has non-finite values in its {key}")


def _validate(onnx, model, source):
    """Refuse in one line what onnxruntime refuses before running: ONNX's full check (types, shapes,
    single assignment, unique initializers) and node names used twice."""
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as err:                            # noqa: BLE001 - the checker raises several kinds
        text = str(err).strip()
        first = text.splitlines()[0] if text else type(err).__name__
        raise ValueError(f"{source}: not a valid ONNX model ({first[:300]})") from None
    counts = collections.Counter(n.name for n in model.graph.node if n.name)
    twice = sorted(name for name, k in counts.items() if k > 1)
    if twice:
        raise ValueError(f"{source}: not a valid ONNX model (two nodes are named {twice[0]!r})")


def _check_flattens(graph, net, names, input_shape):
    """A Reshape to (batch, F) is a flatten only where F is the size of what it reshapes."""
    if not graph.flattens:
        return
    if input_shape is None:
        graph.refuse(graph.flattens[0][0], "reshapes to a fixed size, which minizf can only check against "
                                           "an input of fixed size (the file leaves it open)")
    shapes = dict(net.output_shapes(input_shape))
    for node, features in graph.flattens:
        got = int(np.prod(shapes[names[node.output[0]]]))
        if got != features:
            graph.refuse(node, f"reshapes {got} values per image to rows of {features}: not a flatten")


def _wire(graph):
    """[(layer, node, inputs as indices of earlier entries or INPUT)] and the output's entry: every
    node of the file mapped to a layer, every tensor to the layer that wrote it."""
    producer, entries, i = {graph.input.name: INPUT}, [], 0
    while i < len(graph.nodes):
        node = graph.nodes[i]
        data = [t for t in node.input if t and t not in graph.consts]
        for t in data:
            if t not in producer:
                graph.refuse(node, f"reads {t!r}, which no earlier node wrote (the file's nodes are not in order)")
        layer, used = _layer(graph, node, graph.nodes[i + 1] if i + 1 < len(graph.nodes) else None, data)
        _check_finite(graph, node, layer)
        out = graph.nodes[i + used - 1].output[0]
        if layer is None:
            producer[out] = producer[data[0]]               # an Identity: its output is its input
        else:
            entries.append((layer, node, [producer[t] for t in data]))
            producer[out] = len(entries) - 1
        i += used
    outputs = [o.name for o in graph.model_outputs]
    if len(outputs) != 1 or outputs[0] not in producer or producer[outputs[0]] == INPUT:
        raise ValueError(f"{graph.source}: expected one output written by a layer, found {outputs}")
    return entries, producer[outputs[0]]


def _names(entries):
    """Module paths where the exporter recorded them and they say more than positions (an
    ``nn.Sequential``'s "0", "3" do not: the paper's names serve better), else the nodes' names
    when plain, else the paper's."""
    layers = [layer for layer, _, _ in entries]
    modules = [_module_name(node, layer) for layer, node, _ in entries]
    weighted = [m for m, (layer, _, _) in zip(modules, entries) if isinstance(layer, (Conv2D, Linear))]
    if all(m is not None for m in modules) and any(re.search("[A-Za-z]", m) for m in weighted):
        names = _unique(modules)
    else:
        names = _unique([node.name or node.output[0] for _, node, _ in entries])
    return names if _plain_names(names) else paper_names(layers)


def load_onnx(path):
    """(net, mean or None, meta) of an ONNX file: a Sequential for a chain, else a Graph."""
    onnx = _onnx()
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file")
    try:
        model = onnx.load(str(path))
    except Exception as err:                           # noqa: BLE001 - protobuf raises many kinds
        raise ValueError(f"{path}: not a readable ONNX file ({type(err).__name__}: {err})") from None
    _validate(onnx, model, str(path))
    graph = _Graph(model, str(path))
    entries, output = _wire(graph)
    names = _names(entries)
    nodes = [(names[k], layer, [INPUT if i == INPUT else names[i] for i in inputs])
             for k, (layer, _, inputs) in enumerate(entries)]
    props = {p.key: p.value for p in model.metadata_props}
    meta = json.loads(props.get("minizf.meta", "{}"))
    dims = [d.dim_value for d in graph.input.type.tensor_type.shape.dim]
    input_shape = tuple(dims[1:]) if len(dims) == 4 and all(dims[1:]) else None
    mean = None
    if "minizf.mean" in props:
        record = json.loads(props["minizf.mean"])
        mean = np.frombuffer(base64.b64decode(record["data"]), dtype=np.float32).reshape(record["shape"]).copy()
    meta.setdefault("model", f"onnx:{path}")
    try:
        net = Graph(nodes, input_shape, output=names[output])
    except ValueError as err:                          # two layers' outputs of different shapes added, ...
        raise ValueError(f"{path}: {err}") from None
    _check_flattens(graph, net, {node.output[0]: names[k] for k, (_, node, _) in enumerate(entries)}, input_shape)
    if net.is_chain():
        net = Sequential([(name, layer) for name, layer, _ in nodes], input_shape=input_shape)
    return net, mean, meta
