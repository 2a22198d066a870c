"""Model files: the weights, the mean image and a JSON record of the model in one .npz.

Below ``train`` and ``data`` (both read model files), above ``models`` and
``architecture`` (which rebuild the network). A model made by one of
``models``' builders is recorded by name and options; any other Sequential
(converted from PyTorch or ONNX) by its layers (``architecture.describe``).
"""
import json

import numpy as np

from . import architecture, models
from .io import load_npz, save_npz_atomic


def save_model(path, net, mean, meta, dtype=None):
    """Weights, mean image and a JSON dict of metadata (model name, options, metrics) in one .npz.

    dtype: store the weights in another type, e.g. float16 to halve a bundled file
    (``load_model`` gives float32 back).
    """
    arrays = {f"param/{k}": v if dtype is None else v.astype(dtype) for k, v in net.state_dict().items()}
    if meta.get("model") not in models.MODELS:          # not a named builder: record the layers
        meta = dict(meta, layers=architecture.describe(net),
                    input_shape=list(net.input_shape) if net.input_shape else None)
    arrays["mean"] = np.asarray(mean, dtype=np.float32)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    save_npz_atomic(path, arrays)


def load_model(path):
    """(net, mean image, meta) from a file written by ``save_model`` or a training checkpoint."""
    arrays = load_npz(path)
    if "meta" not in arrays:
        raise ValueError(f"{path}: not a minizf model file (no 'meta' entry)")
    try:
        meta = json.loads(arrays["meta"].tobytes().decode())
        if not isinstance(meta, dict):
            raise TypeError(f"a JSON {type(meta).__name__}, expected an object")
        model, options = meta["model"], dict(meta.get("model_options", {}))
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"{path}: malformed 'meta' entry ({type(err).__name__}: {err})") from None
    if "layers" in meta:
        shape = meta.get("input_shape")
        net = architecture.build(meta["layers"], tuple(shape) if shape else None, str(path))
    else:
        try:
            net = models.build(model, **options)
        except (TypeError, ValueError) as err:      # an unknown option, a width beyond memory: the file's fault
            raise ValueError(f"{path}: its model {model!r} with options {options} cannot be built ({err})") from None
    params = {k[6:]: arrays[k] for k in arrays if k.startswith("param/")}        # only what is used is read
    bad = [name for name, v in params.items() if v.dtype.kind == "f" and not np.isfinite(v).all()]
    if bad:
        raise ValueError(f"{path}: weights {bad[0]!r} hold NaN or infinite values (a diverged run?)")
    net.load_state_dict(params, str(path))
    mean = arrays.get("mean")
    size = net.input_shape[1:] if net.input_shape else None
    if mean is None or mean.ndim != 3 or mean.shape[0] != 3 or mean.dtype.kind != "f" or (
            size and (mean.shape[1] < size[0] or mean.shape[2] < size[1])):
        shape = None if mean is None else (mean.shape, str(mean.dtype))
        raise ValueError(f"{path}: expected a float mean image of shape (3, H, W) covering the "
                         f"{size} input, got {shape}")
    return net, mean, meta
