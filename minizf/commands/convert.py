"""``minizf export``: a model file in the other format (.npz <-> .onnx)."""
from ..io import check_writable
from .common import _done, _load_any_model, positive


def cmd_export(args):
    """A model file in the other format: .npz -> .onnx, or .onnx -> .npz."""
    check_writable(args.target, "OUT")
    net, mean, meta = _load_any_model(args.model)
    target = args.target.lower()
    if target.endswith(".onnx"):
        from ..interop.onnx import save_onnx
        if net.input_shape is None and not args.input_size:
            raise ValueError(f"{args.model}: the network does not know its input size; add --input-size N")
        shape = (net.input_shape[0] if net.input_shape else 3, args.input_size, args.input_size) \
            if args.input_size else None
        save_onnx(net, args.target, mean, meta, input_shape=shape)
    elif target.endswith(".npz"):
        from ..modelfile import save_model
        if mean is None:
            raise ValueError(f"{args.model}: carries no mean image; minizf model files need one")
        save_model(args.target, net, mean, dict(meta, model=meta.get("model", "imported")))
    else:
        raise ValueError(f"{args.target}: give a file ending in .onnx or .npz")
    return _done(args.target)


def add_commands(sub):
    """Register export."""
    q = sub.add_parser("export", help="write a model in the other format: MODEL.npz to OUT.onnx (any ONNX "
                       "runtime), or an .onnx to a minizf .npz", description="Convert a model file. ONNX "
                       "graphs are read when they are chains of Conv, Relu, MaxPool, LRN, Gemm/MatMul+Add, "
                       "Flatten/Reshape, Dropout (see minizf.interop.onnx).")
    q.add_argument("model")
    q.add_argument("target", metavar="OUT", help="the file to write: a name ending in .onnx or .npz")
    q.add_argument("--input-size", type=positive, default=None, help="side of the square input, when the "
                   "model file does not say it")
    q.set_defaults(run=cmd_export)

