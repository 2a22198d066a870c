"""PyTorch models in and out: ``from_torch(module)`` and ``to_torch(net)``.

A CNN trained in PyTorch becomes a minizf network with the same weights, so the
deconvnet, top-9, occlusion and every figure run on it; a minizf chain becomes
an ``nn.Sequential`` to fine-tune or deploy there. torch stays optional: it is
imported when these functions are called.

An ``nn.Sequential`` (nested ones flattened, names joined with dots as
PyTorch's ``named_modules`` gives them) becomes a ``Sequential``; any other
module is traced by ``torch.fx`` and becomes a ``Graph`` whose layers are named
after their module paths (``layer3.1.conv2``; a module called twice, as a
ResNet block's ``relu``, gets ``relu`` and ``relu_1``). Supported modules:
``Conv2d`` (groups 1, dilation 1, zero padding), ``ReLU``, ``MaxPool2d``
(dilation 1, ceil mode or not), ``AvgPool2d``, ``AdaptiveAvgPool2d``,
``LocalResponseNorm``, ``BatchNorm2d`` (its running statistics), ``Dropout``,
``Flatten`` (from dim 1), ``Linear``; and between them ``+`` (residuals),
``torch.cat`` along the channels and ``torch.flatten(x, 1)``. Anything else
is refused with its name and this list, and so is what a conversion cannot
carry over: a forward hook, or a subclass of a supported module with a
``forward()`` of its own (minizf would run the plain layer and the outputs
would differ without a word).

Two conventions differ and are converted here: PyTorch's LocalResponseNorm
divides alpha by the window size (minizf uses the paper's alpha as it is), and
a PyTorch layer without bias becomes a minizf layer with a zero bias.
"""
import numpy as np

import operator

from ..functional import pair
from ..graph import INPUT, Graph
from ..layers import (LRN, Add, AdaptiveAvgPool2D, AvgPool2D, BatchNorm2D, Concat, Conv2D, Dropout, Flatten, Linear,
                      MaxPool2D, ReLU)
from ..net import Sequential

SUPPORTED = "Conv2d (groups=1, dilation=1, zero padding), ReLU, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, " \
            "LocalResponseNorm, BatchNorm2d, Dropout, Flatten (start_dim=1), Linear, joined by +, torch.cat " \
            "(dim 1) and torch.flatten(x, 1)"


def _torch():
    try:
        import torch
    except ImportError:                      # pragma: no cover - depends on the machine
        raise ImportError("minizf.interop.torch needs PyTorch: pip install torch==2.13.0 "
                          "(the CPU build; see the README)") from None
    return torch


def _leaves(module, prefix=""):
    """(name, module) of every non-container module, nested Sequentials flattened."""
    nn = _torch().nn
    if isinstance(module, nn.Sequential):
        for name, child in module.named_children():
            yield from _leaves(child, f"{prefix}{name}.")
    else:
        yield prefix.rstrip("."), module


def _refuse(name, module, why=""):
    raise ValueError(f"from_torch: {name or 'the model'} is {type(module).__name__}"
                     f"{' with ' + why if why else ''}: not supported (supported: {SUPPORTED})")


def _array(tensor, dtype, name=""):
    """A parameter as a NumPy array: any floating dtype (bfloat16 too, which NumPy lacks) on any
    device; a tensor without values (the meta device) is refused, naming its module."""
    if tensor.is_meta:
        raise ValueError(f"from_torch: {name or 'the model'} holds a tensor on the meta device, with no values "
                         "to convert (load its weights first, e.g. load_state_dict(..., assign=True))")
    if not tensor.is_floating_point():
        raise ValueError(f"from_torch: {name or 'the model'} holds a {tensor.dtype} tensor; expected floating point")
    values = tensor.detach().to("cpu", dtype=_torch().float64).numpy()
    if not np.isfinite(values).all():
        raise ValueError(f"from_torch: {name or 'the model'} holds NaN or inf values (as saved model files may "
                         "not): a network with them computes only NaN")
    return values.astype(dtype, copy=True)


def _conv(name, m, dtype):
    if m.groups != 1:
        _refuse(name, m, f"groups={m.groups}")
    if pair(m.dilation) != (1, 1):
        _refuse(name, m, f"dilation={m.dilation}")
    if m.padding_mode != "zeros":
        _refuse(name, m, f"padding_mode={m.padding_mode!r}")
    pad = m.padding
    if isinstance(pad, str):
        if pad == "valid":
            pad = 0
        elif all(k % 2 == 1 for k in pair(m.kernel_size)) and pair(m.stride) == (1, 1):
            pad = tuple(k // 2 for k in pair(m.kernel_size))                 # 'same'
        else:
            _refuse(name, m, f"padding={pad!r} (an even kernel pads unevenly)")
    layer = Conv2D(m.in_channels, m.out_channels, m.kernel_size, m.stride, pad, dtype=dtype)
    layer.params["W"] = _array(m.weight, dtype, name)
    layer.params["b"] = _array(m.bias, dtype, name) if m.bias is not None else np.zeros(m.out_channels, dtype)
    return layer


def _pool(name, m):
    if pair(m.dilation) != (1, 1):
        _refuse(name, m, f"dilation={m.dilation}")
    if m.return_indices:
        _refuse(name, m, "return_indices=True (minizf keeps the switches itself)")
    return MaxPool2D(m.kernel_size, m.stride if m.stride is not None else m.kernel_size, m.padding, m.ceil_mode)


def _linear(name, m, dtype):
    layer = Linear(m.in_features, m.out_features, dtype=dtype)
    layer.params["W"] = _array(m.weight, dtype, name)
    layer.params["b"] = _array(m.bias, dtype, name) if m.bias is not None else np.zeros(m.out_features, dtype)
    return layer


def _convert(name, m, dtype):
    nn = _torch().nn
    if isinstance(m, nn.Conv2d):
        return _conv(name, m, dtype)
    if isinstance(m, nn.ReLU):
        return ReLU()
    if isinstance(m, nn.MaxPool2d):
        return _pool(name, m)
    if isinstance(m, nn.AvgPool2d):
        if m.divisor_override is not None:
            _refuse(name, m, f"divisor_override={m.divisor_override}")
        return AvgPool2D(m.kernel_size, m.stride if m.stride is not None else m.kernel_size, m.padding,
                         m.ceil_mode, m.count_include_pad)
    if isinstance(m, nn.AdaptiveAvgPool2d):
        given = m.output_size if isinstance(m.output_size, (tuple, list)) else (m.output_size,)
        if None in given:                                 # PyTorch's "keep this axis as it is"
            _refuse(name, m, f"output_size={m.output_size} (None keeps an axis's size; minizf needs both sizes)")
        return AdaptiveAvgPool2D(pair(m.output_size))
    if isinstance(m, nn.LocalResponseNorm):
        if not isinstance(m.size, int) or m.size < 1:
            _refuse(name, m, f"size={m.size}")
        return LRN(m.size, m.alpha / m.size, m.beta, m.k)        # PyTorch divides alpha by size
    if isinstance(m, nn.Dropout):
        return Dropout(m.p)
    if isinstance(m, nn.Flatten):
        if m.start_dim != 1 or m.end_dim != -1:
            _refuse(name, m, f"start_dim={m.start_dim}, end_dim={m.end_dim}")
        return Flatten()
    if isinstance(m, nn.Linear):
        return _linear(name, m, dtype)
    if isinstance(m, nn.BatchNorm2d):
        return _batch_norm(name, m, dtype)
    _refuse(name, m)


def _batch_norm(name, m, dtype):
    if not m.track_running_stats or m.running_mean is None:
        _refuse(name, m, "track_running_stats=False (no statistics to run on)")
    layer = BatchNorm2D(m.num_features, m.eps, m.momentum if m.momentum is not None else 0.1, dtype)
    if m.affine:
        layer.params = {"gamma": _array(m.weight, dtype, name), "beta": _array(m.bias, dtype, name)}
    layer.buffers = {"running_mean": _array(m.running_mean, dtype, name),
                     "running_var": _array(m.running_var, dtype, name)}
    var = m.running_var.detach().double().cpu()
    if not bool(((var + m.eps) > 0).all()):                  # NaN included: 1 / sqrt(<= 0) is no number
        _refuse(name, m, f"a running variance plus eps that is not positive (min variance {float(var.min())}, "
                         f"eps {m.eps})")
    return layer


#: The module classes from_torch converts, each checked to keep PyTorch's own forward().
def _supported_classes():
    nn = _torch().nn
    return (nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.LocalResponseNorm,
            nn.Dropout, nn.Flatten, nn.Linear, nn.BatchNorm2d, nn.Sequential)


def _training_differs(m):
    """How a module in training mode computes other than the inference model minizf converts, or None.

    Refused rather than converted with a warning: a student who forgot model.eval() would otherwise
    compare two different functions and blame the wrong one."""
    nn = _torch().nn
    if m.training and isinstance(m, nn.BatchNorm2d) and m.track_running_stats:
        return "normalises by each batch's own statistics"
    if m.training and isinstance(m, nn.Dropout) and m.p > 0:
        return "drops units at random"
    return None


def _check_faithful(module):
    """Refuse, naming the module, what a conversion would silently drop: forward hooks anywhere, and
    subclasses of the supported modules with a forward() of their own."""
    torch = _torch()
    from torch.nn.modules import module as module_globals
    if module_globals._global_forward_hooks or module_globals._global_forward_pre_hooks:
        raise ValueError("from_torch: global forward hooks are registered (torch.nn.modules.module."
                         "register_module_forward_hook); minizf cannot run them: remove them first")
    for name, m in module.named_modules():
        label = name or "the model"
        differs = _training_differs(m)
        if differs:
            raise ValueError(f"from_torch: {label} ({type(m).__name__}) is in training mode, where PyTorch "
                             f"{differs}; minizf converts the inference model: call model.eval() first")
        if m._forward_hooks or m._forward_pre_hooks:
            raise ValueError(f"from_torch: {label} ({type(m).__name__}) has a forward hook; minizf cannot "
                             "run it, so its outputs would differ: remove the hook (handle.remove()) first")
        for base in _supported_classes():
            if isinstance(m, base) and type(m).forward is not base.forward:
                raise ValueError(f"from_torch: {label} is a {type(m).__name__}, a {base.__name__} with a forward() "
                                 f"of its own; minizf would run a plain {base.__name__} and the outputs would "
                                 "differ: convert a module without it")


def from_torch(module, input_shape=None, dtype=np.float32):
    """A minizf network with the layers, weights and names of a PyTorch module: a Sequential for an
    nn.Sequential, else a Graph traced by torch.fx.

    input_shape: (C, H, W) of one image, if known (receptive fields and the
    figures use it). A ValueError names the first module that cannot be converted.
    """
    nn = _torch().nn
    if not isinstance(module, nn.Module):
        raise ValueError(f"from_torch: expected a torch.nn.Module, got {type(module).__name__}")
    _check_faithful(module)
    if isinstance(module, nn.Sequential):
        layers = [(name, _convert(name, m, dtype)) for name, m in _leaves(module)]
        if not layers:
            raise ValueError("from_torch: the nn.Sequential has no layers")
        return Sequential(layers, input_shape=input_shape)
    if isinstance(module, _supported_classes()):       # one layer alone
        return Sequential([(type(module).__name__.lower(), _convert("", module, dtype))], input_shape=input_shape)
    return _traced(module, input_shape, dtype)


def _trace(module):
    import torch.fx
    try:
        return torch.fx.symbolic_trace(module)
    except Exception as err:                            # noqa: BLE001 - fx raises many kinds
        raise ValueError(f"from_torch: torch.fx cannot trace {type(module).__name__} ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''}); minizf reads modules whose forward() "
                         "has no data-dependent control flow") from None


def _function_layer(node):
    """The layer for a call_function or call_method node between modules, or None if unsupported."""
    torch = _torch()
    target, args, kwargs = node.target, node.args, node.kwargs
    if target in (operator.add, torch.add, "add") and len(args) == 2 and not kwargs and \
            all(isinstance(a, torch.fx.Node) for a in args):
        return Add(), list(args)
    if target in (torch.cat, torch.concat) and isinstance(args[0], (list, tuple)):
        dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
        if dim in (1, -3):
            return Concat(), list(args[0])
    if target in (torch.flatten, "flatten"):
        start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
        if start == 1 and len(args) <= 2 and kwargs.get("end_dim", -1) == -1:
            return Flatten(), [args[0]]
    if target in (torch.relu, torch.nn.functional.relu, "relu") and not kwargs.get("inplace", False):
        return ReLU(), [args[0]]
    return None


def _check_in_place(node, m):
    """An in-place module overwrites its input: if another node reads that input too, PyTorch's result
    depends on the order they run in, and a conversion would not reproduce it. Refused by name."""
    if getattr(m, "inplace", False) and isinstance(m, _torch().nn.ReLU):
        source = node.args[0]
        others = [u.name for u in getattr(source, "users", {}) if u is not node]
        if others:
            raise ValueError(f"from_torch: {node.target} (ReLU(inplace=True)) overwrites {source.name}, which "
                             f"{others[0]} also reads; PyTorch's result then depends on the order: "
                             "use ReLU(inplace=False) there")


def _traced(module, input_shape, dtype):
    """A Graph from torch.fx's trace of ``module``: modules by their paths, + and torch.cat between them."""
    traced = _trace(module)
    modules = dict(module.named_modules())
    nodes, names, used = [], {}, set()

    def unique(name):
        candidate, k = name, 0
        while candidate in used or candidate == INPUT:
            k += 1
            candidate = f"{name}_{k}"
        used.add(candidate)
        return candidate
    output = None
    for node in traced.graph.nodes:
        if node.op == "placeholder":
            if INPUT in names.values():
                raise ValueError(f"from_torch: {type(module).__name__}.forward takes more than one input")
            names[node] = INPUT
        elif node.op == "call_module":
            m = modules[node.target]
            _check_in_place(node, m)
            layer, inputs = _convert(node.target, m, dtype), [node.args[0]]
            if len(node.args) != 1 or node.kwargs:
                raise ValueError(f"from_torch: {node.target} is called with more than its input")
            names[node] = unique(node.target)
            nodes.append((names[node], layer, inputs))
        elif node.op in ("call_function", "call_method"):
            found = _function_layer(node)
            what = getattr(node.target, "__name__", node.target)
            if found is None:
                raise ValueError(f"from_torch: {node.name} calls {what}{tuple(a for a in node.args[1:])!r:.60}, "
                                 f"not supported (supported: {SUPPORTED})")
            layer, inputs = found
            path = node.meta.get("nn_module_stack") and list(node.meta["nn_module_stack"].values())[-1][0]
            names[node] = unique(f"{path}.{type(layer).__name__.lower()}" if path else type(layer).__name__.lower())
            nodes.append((names[node], layer, inputs))
        elif node.op == "output":
            output = node.args[0]
        else:
            raise ValueError(f"from_torch: {node.name} reads {node.target} ({node.op}), not supported (supported: "
                             f"{SUPPORTED})")
    wired = []
    for name, layer, inputs in nodes:
        for i in inputs:
            if i not in names:
                raise ValueError(f"from_torch: {name} reads {i!r}, which is not a layer's output")
        wired.append((name, layer, [names[i] for i in inputs]))
    if output not in names or names[output] == INPUT:
        raise ValueError(f"from_torch: {type(module).__name__}.forward must return one layer's output")
    net = Graph(wired, input_shape, output=names[output])
    if net.is_chain():
        return Sequential([(name, layer) for name, layer, _ in wired], input_shape=input_shape)
    return net


def _to_module(layer):
    torch = _torch()
    nn = torch.nn
    if isinstance(layer, Conv2D):
        m = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.pad)
    elif isinstance(layer, Linear):
        W = layer.params["W"]
        m = nn.Linear(W.shape[1], W.shape[0])
    elif isinstance(layer, ReLU):
        return nn.ReLU()
    elif isinstance(layer, MaxPool2D):
        return nn.MaxPool2d(layer.kernel_size, layer.stride, layer.pad, ceil_mode=layer.ceil_mode)
    elif isinstance(layer, AvgPool2D):
        return nn.AvgPool2d(layer.kernel_size, layer.stride, layer.pad, ceil_mode=layer.ceil_mode,
                            count_include_pad=layer.count_include_pad)
    elif isinstance(layer, AdaptiveAvgPool2D):
        return nn.AdaptiveAvgPool2d(layer.output_size)
    elif isinstance(layer, LRN):
        return nn.LocalResponseNorm(layer.size, layer.alpha * layer.size, layer.beta, layer.k)
    elif isinstance(layer, Dropout):
        return nn.Dropout(layer.p)
    elif isinstance(layer, Flatten):
        return nn.Flatten()
    else:
        raise ValueError(f"to_torch: layer {layer.name!r} is a {type(layer).__name__}, which has no "
                         "PyTorch counterpart here")
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(np.ascontiguousarray(_numpy(layer.params["W"]))))
        m.bias.copy_(torch.from_numpy(np.ascontiguousarray(_numpy(layer.params["b"]))))
    return m


def _numpy(array):
    from ..backend import to_numpy
    return to_numpy(array)


def to_torch(net):
    """An nn.Sequential with the layers, weights (float32 or the net's dtype) and names of a minizf net."""
    from collections import OrderedDict
    nn = _torch().nn
    names = [name.replace(".", "_") for name in net.names]     # PyTorch names may not hold dots
    model = nn.Sequential(OrderedDict((n, _to_module(layer)) for n, (_, layer) in zip(names, net)))
    first = next((p for _, p, _ in net.named_parameters()), None)
    if first is not None and _numpy(first).dtype == np.float64:
        model = model.double()
    return model.eval()
