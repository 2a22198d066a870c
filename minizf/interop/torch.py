"""PyTorch models in and out: ``from_torch(module)`` and ``to_torch(net)``.

A sequential CNN trained in PyTorch becomes a minizf ``Sequential`` with the
same weights, so the deconvnet, top-9, occlusion and every figure run on it;
a minizf model becomes an ``nn.Sequential`` to fine-tune or deploy there.
torch stays optional: it is imported when these functions are called.

Supported, in an ``nn.Sequential`` (nested ones are flattened, names joined
with dots as PyTorch's ``named_modules`` gives them): ``Conv2d`` (groups 1,
dilation 1, zero padding), ``ReLU``, ``MaxPool2d`` (dilation 1, ceil mode or
not), ``AvgPool2d``, ``AdaptiveAvgPool2d``, ``LocalResponseNorm``, ``Dropout``, ``Flatten`` (from dim 1),
``Linear``. Anything else is refused with its name and this list.

Two conventions differ and are converted here: PyTorch's LocalResponseNorm
divides alpha by the window size (minizf uses the paper's alpha as it is), and
a PyTorch layer without bias becomes a minizf layer with a zero bias.
"""
import numpy as np

from ..layers import LRN, AdaptiveAvgPool2D, AvgPool2D, Conv2D, Dropout, Flatten, Linear, MaxPool2D, ReLU
from ..functional import pair
from ..net import Sequential

SUPPORTED = "Conv2d (groups=1, dilation=1, zero padding), ReLU, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, " \
            "LocalResponseNorm, Dropout, Flatten (start_dim=1), Linear, in nn.Sequential containers"


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


def _array(tensor, dtype):
    return tensor.detach().cpu().numpy().astype(dtype, copy=True)


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
    layer.params["W"] = _array(m.weight, dtype)
    layer.params["b"] = _array(m.bias, dtype) if m.bias is not None else np.zeros(m.out_channels, dtype)
    return layer


def _pool(name, m):
    if pair(m.dilation) != (1, 1):
        _refuse(name, m, f"dilation={m.dilation}")
    if m.return_indices:
        _refuse(name, m, "return_indices=True (minizf keeps the switches itself)")
    return MaxPool2D(m.kernel_size, m.stride if m.stride is not None else m.kernel_size, m.padding, m.ceil_mode)


def _linear(m, dtype):
    layer = Linear(m.in_features, m.out_features, dtype=dtype)
    layer.params["W"] = _array(m.weight, dtype)
    layer.params["b"] = _array(m.bias, dtype) if m.bias is not None else np.zeros(m.out_features, dtype)
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
        size = pair(m.output_size)
        if None in size:
            _refuse(name, m, f"output_size={m.output_size}")
        return AdaptiveAvgPool2D(size)
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
        return _linear(m, dtype)
    _refuse(name, m)


def from_torch(module, input_shape=None, dtype=np.float32):
    """A minizf Sequential with the layers, weights and names of a PyTorch nn.Sequential.

    input_shape: (C, H, W) of one image, if known (receptive fields and the
    figures use it). A ValueError names the first module that cannot be converted.
    """
    nn = _torch().nn
    if not isinstance(module, nn.Sequential):
        _refuse("", module, "a forward() of its own (give an nn.Sequential of its layers)")
    layers = [(name, _convert(name, m, dtype)) for name, m in _leaves(module)]
    if not layers:
        raise ValueError("from_torch: the nn.Sequential has no layers")
    return Sequential(layers, input_shape=input_shape)


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
