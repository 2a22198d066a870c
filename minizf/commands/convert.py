"""``minizf export``: a model file in the other format (.npz <-> .onnx)."""
from ..io import check_replaceable, check_writable
from .common import _done, _load_any_model, add_model_options, input_side, with_model_options


def cmd_export(args):
    """A model file in the other format: .npz -> .onnx, or .onnx -> .npz."""
    check_writable(args.target, "OUT")
    check_replaceable(args.target, "OUT", args.force)      # a model file is never silently replaced
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
        net, mean, meta = with_model_options(net, mean, meta, args)    # a minizf file carries all of them
        save_model(args.target, net, mean, dict(meta, model=meta.get("model", "imported")))
    else:
        raise ValueError(f"{args.target}: give a file ending in .onnx or .npz")
    return _done(args.target)


def add_commands(sub):
    """Register export."""
    q = sub.add_parser("export", help="write a model in the other format: MODEL.npz to OUT.onnx (any ONNX "
                       "runtime), or an .onnx to a minizf .npz", description="Convert a model file. ONNX "
                       "files are read when made of Conv, Relu, MaxPool, AveragePool, LRN, BatchNormalization, Add, "
                       "Concat, Gemm/MatMul+Add, Flatten/Reshape, Dropout, wired in any way (see "
                       "minizf.interop.onnx); --mean, --std and --classes go into the .npz.")
    q.add_argument("model")
    q.add_argument("target", metavar="OUT", help="the file to write: a name ending in .onnx or .npz")
    q.add_argument("--input-size", type=input_side, default=None, help="side of the square input, when the "
                   "model file does not say it")
    q.add_argument("--force", action="store_true", help="replace an existing OUT")
    add_model_options(q)
    q.set_defaults(run=cmd_export)

