"""What the commands share: argument types, the model and device options, output helpers."""
import argparse
import math


def _ints(text):
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, got {text!r}") from None


def _count(minimum):
    """An argparse type: a whole number >= minimum."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    parse.__name__ = f"whole number >= {minimum}"
    return parse


positive, nonnegative = _count(1), _count(0)
MAX_SIDE = 2048        # an input side beyond it would take gigabytes per image in the first layers


def input_side(text):
    """An argparse type: a square input's side, 1..MAX_SIDE pixels."""
    value = positive(text)
    if value > MAX_SIDE:
        raise argparse.ArgumentTypeError(f"at most {MAX_SIDE} pixels, got {value}")
    return value


def _real(minimum, strict):
    """An argparse type: a finite number > minimum (strict) or >= minimum."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"must be a finite number {'>' if strict else '>='} {minimum:g}, "
                                             f"got {text}")
        return value
    parse.__name__ = f"number {'>' if strict else '>='} {minimum:g}"
    return parse


positive_real, nonnegative_real = _real(0.0, True), _real(0.0, False)


def _floats(text):
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def _device(args):
    """--device, else $MINIZF_DEVICE, else cpu; a missing GPU is the user's error, said in one line."""
    from ..backend import get_device
    try:
        return get_device(getattr(args, "device", None))
    except RuntimeError as err:
        raise ValueError(f"--device: {err}") from None


def _load_any_model(path):
    """(net, mean or None, meta) of a minizf .npz or an .onnx file."""
    if str(path).lower().endswith(".onnx"):
        from ..interop.onnx import load_onnx
        return load_onnx(path)
    from ..modelfile import load_model
    return load_model(path)


def _model(args):
    """(net, mean, meta) of --model (.npz or .onnx), else the tour's default bundled model, on --device,
    with what --input-size, --mean, --std and --classes supply."""
    from ..figures import default_model
    net, mean, meta = _load_any_model(args.model) if args.model else default_model()
    net, mean, meta = with_model_options(net, mean, meta, args)
    return net.to(_device(args)), mean, meta


def with_model_options(net, mean, meta, args, source=None):
    """--input-size, --mean, --std and --classes applied to a loaded model: what a foreign model file
    does not carry; a model still without an input size or mean image is refused in one line
    naming ``source`` (default: --model)."""
    import numpy as np
    source = source or f"--model {args.model}"
    size = getattr(args, "input_size", None)
    if size:
        channels = net.input_shape[0] if net.input_shape else 3
        net.input_shape = (channels, size, size)
    if net.input_shape is None:
        raise ValueError(f"{source}: the file does not give its input size; add --input-size N")
    if getattr(args, "mean", None):
        values = np.asarray(args.mean, dtype=np.float32)
        if values.shape != (net.input_shape[0],):
            raise ValueError(f"--mean: expected {net.input_shape[0]} values (one per channel), got {len(values)}")
        mean = np.broadcast_to(values[:, None, None], net.input_shape).copy()
    if mean is None:
        raise ValueError(f"{source}: the file carries no mean image; give --mean R,G,B (per channel, "
                         "on the [0, 1] pixel scale, e.g. 0.485,0.456,0.406 for ImageNet)")
    if getattr(args, "std", None):
        divide_inputs(net, args.std)
    if getattr(args, "classes", None):
        meta = dict(meta, classes=read_classes(args.classes, net))
    return net, mean, meta


def divide_inputs(net, std):
    """--std: a model trained on (x - mean) / std sees that when the layers reading the image divide
    their weights by std, per input channel: W[:, c] / std[c] applied to x - mean is the same map, in
    the forward, the backward and the deconvnet alike, so nothing else needs to know."""
    import numpy as np

    from ..layers import Conv2D
    std = np.asarray(std, dtype=np.float64)
    if (std <= 0).any() or std.shape != (net.input_shape[0],):
        raise ValueError(f"--std: expected {net.input_shape[0]} positive values (one per channel), got "
                         f"{', '.join(f'{v:g}' for v in std)}")
    wiring = getattr(net, "inputs", None)
    first = [name for name, _ in net if wiring[name] == ["input"]] if wiring else [net.names[0]]
    for name in first:
        if not isinstance(net[name], Conv2D):
            raise ValueError(f"--std: the image goes into {name!r}, a {type(net[name]).__name__}; minizf folds "
                             "--std into a first conv layer only")
        W = net[name].params["W"]
        net[name].params["W"] = (W / std.reshape(1, -1, 1, 1)).astype(W.dtype)


def read_classes(path, net):
    """--classes FILE: one class name per line (blank lines skipped), as many as the model has outputs."""
    import os
    if not os.path.isfile(path) or os.path.getsize(path) > 1 << 20:
        raise ValueError(f"--classes {path}: not a text file of at most 1 MiB")
    try:
        with open(path, encoding="utf-8") as f:
            names = [line.strip() for line in f if line.strip()]
    except UnicodeDecodeError:
        raise ValueError(f"--classes {path}: not UTF-8 text") from None
    outputs = net.output_shapes(net.input_shape)[-1][1]
    if len(outputs) != 1 or len(names) != outputs[0]:
        raise ValueError(f"--classes {path}: holds {len(names)} names, but the model has {outputs[0]} outputs")
    if len(set(names)) != len(names):
        raise ValueError(f"--classes {path}: a class name appears twice")
    return names


def _done(paths):
    for path in paths if isinstance(paths, list) else [paths]:
        print("wrote", path)
    return 0


def _report(paths, caption, verdict):
    """Print a figure's caption and its verdict against the paper, then the files written."""
    print(caption)
    if verdict is not None:
        print(verdict)
    return _done(paths)


def _write_json(path, table, flag="--json"):
    """Write a results table (a dict) as JSON with minizf's written_by mark, to a temp file then
    renamed; a file minizf did not write is never replaced."""
    import json

    from .. import __version__
    from ..io import WRITTEN_BY, check_replaceable, save_text_atomic
    check_replaceable(path, flag)
    save_text_atomic(path, json.dumps(dict(table, written_by=f"{WRITTEN_BY} {__version__}"), indent=1))


def figure_command(sub, name, help_text, run, out="figures"):
    """A subcommand with the options every figure command takes: --model, --out, --device,
    --input-size and --mean (for model files from elsewhere)."""
    q = sub.add_parser(name, help=help_text, description=help_text)
    q.add_argument("--model", default=None, help="model file (default: the bundled data/zf64.npz, "
                   "else data/zf_small.npz)")
    q.add_argument("--out", default=out, help=f"output folder (default {out})")
    q.add_argument("--device", default=None, help="cpu or cuda (default $MINIZF_DEVICE or cpu)")
    q.add_argument("--input-size", type=input_side, default=None, help="side of the square input, for a "
                   "model file that does not say it (an .onnx from elsewhere)")
    add_model_options(q)
    q.set_defaults(run=run)
    return q


def add_model_options(q):
    """--mean, --std and --classes: what a model file from elsewhere does not carry."""
    q.add_argument("--mean", type=_floats, default=None, help="per-channel mean R,G,B on the [0, 1] "
                   "pixel scale, subtracted from every image, for a model file without a mean image")
    q.add_argument("--std", type=_floats, default=None, help="per-channel std R,G,B on the [0, 1] pixel scale, "
                   "for a model trained on standardised images (x - mean) / std, e.g. 0.229,0.224,0.225")
    q.add_argument("--classes", default=None, help="a text file with one class name per line, in the order "
                   "of the model's outputs (captions, p(true class) and --images folders use them)")


def feature_map_layer(net, layer, flag="--layer"):
    """layer (a name, or one of the paper's roles: layer1, layer5, layer7), checked to exist and to
    give feature maps (C, H, W): topk and occlude need positions. Returns the layer's name."""
    from ..roles import resolve
    layer = resolve(net, layer, flag)
    shape = dict(net.output_shapes(net.input_shape))[layer] if net.input_shape else None
    if shape is not None and len(shape) != 3:
        maps = [name for name, s in net.output_shapes(net.input_shape) if len(s) == 3]
        raise ValueError(f"{flag} {layer}: gives {tuple(shape)}, not feature maps (C, H, W); layers with maps: "
                         f"{', '.join(maps)}")
    return layer
