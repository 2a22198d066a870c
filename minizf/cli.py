"""The ``minizf`` command: ``minizf COMMAND --help`` says what each one does.

This module builds the parser from the command groups in ``minizf.commands``
(and the course's), and turns every failure a user can cause into one line.
"""
import argparse
import os
import sys

from . import __version__


def cmd_info(args):
    from .backend import cuda_available
    from .functional.chunks import num_threads
    from .models import MODELS
    print(f"minizf {__version__}")
    print("models: " + ", ".join(MODELS))
    print(f"devices: cpu{', cuda' if cuda_available() else ''}")
    print(f"cpu threads: {num_threads()} (each takes a share of the batch; set MINIZF_THREADS to change)")
    if args.model:
        _describe_model(args)
    return 0


def _describe_model(args):
    """The layers of --model with the names every command's --layer accepts, and the paper's roles."""
    from .commands.common import _load_any_model
    from .roles import describe_roles
    net, mean, meta = _load_any_model(args.model)
    shape = (net.input_shape[0] if net.input_shape else 3, args.input_size, args.input_size) if args.input_size \
        else net.input_shape
    if shape is None:
        raise ValueError(f"--model {args.model}: the file does not give its input size; add --input-size N")
    print(f"\n{args.model}: {type(net).__name__} of {len(net)} layers, input {tuple(shape)}"
          f"{', mean image included' if mean is not None else ', no mean image (give --mean)'}"
          f"{', ' + str(len(meta['classes'])) + ' class names' if meta.get('classes') else ''}")
    print(net.summary(shape))
    roles = describe_roles(net)
    print("the paper's layers here (--layer takes these names too): "
          + ", ".join(f"{role} = {name}" for role, name in roles.items() if name))


def build_parser():
    parser = argparse.ArgumentParser(
        prog="minizf", description="Zeiler & Fergus's deconvnet and experiments, from scratch.")
    parser.add_argument("--version", action="version", version=f"minizf {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command")
    what = ("print the version, the models and the devices; with --model, a model's layers, the names --layer "
            "accepts and the paper's layers 1, 5 and 7 in it")
    q = sub.add_parser("info", help=what, description=what[0].upper() + what[1:] + ".")
    q.add_argument("--model", default=None, help="a model file (.npz or .onnx) to describe")
    from .commands.common import input_side
    q.add_argument("--input-size", type=input_side, default=None,
                   help="side of the input, for a file that does not say")
    q.set_defaults(run=cmd_info)

    from .commands import convert, figures, lessons, parallel, section5, training
    from .course.commands import add_commands as add_course_commands
    for group in (training, figures, section5, convert, parallel, lessons):
        group.add_commands(sub)
    add_course_commands(sub)
    parser.set_defaults(parser=parser)      # mpirun checks its command's flags before starting the ranks
    return parser


def _check_out(args):
    """Make --out before any work, so a command never computes for minutes and then fails to write:
    a folder, or for evaluate a .png path."""
    out = getattr(args, "out", None)
    if not out:
        return
    folder = os.path.dirname(out) or "." if out.endswith(".png") else out
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ValueError(f"--out {out}: {folder} is a file, not a folder")
    os.makedirs(folder, exist_ok=True)
    if not os.access(folder, os.W_OK):
        raise ValueError(f"--out {out}: cannot write in {folder}")


def _alone():
    """Under MPI with other ranks, this rank's failure is its own: "rank R of K: " to name it; else ""."""
    comm = sys.modules.get("minizf.distributed.comm")
    active = comm and comm.ACTIVE
    return f"rank {active.rank} of {active.size}: " if active and active.size > 1 and \
        not active.ending_together else ""


def _end(status):
    """The exit status of a failed command; a rank failing alone first stops the others (MPI_Abort),
    which may be waiting for it in a collective."""
    comm = sys.modules.get("minizf.distributed.comm")
    if comm:
        comm.abort_others(status)
    return status


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    args.typed = list(sys.argv[1:] if argv is None else argv)     # what the user wrote, not the defaults
    if args.command is None:
        cmd_info(args)
        parser.print_help()
        return 0
    if getattr(args, "quiet", False):
        os.environ["MINIZF_QUIET"] = "1"        # no progress bars anywhere below (minizf.progress)
    try:
        _check_out(args)
        return args.run(args)
    except KeyboardInterrupt:
        print(f"minizf {args.command}: interrupted", file=sys.stderr)
        return _end(130)
    except MemoryError:
        # A size in a file or an option asked for more memory than there is (a Linear of 1e6 x 1e6,
        # a huge --crop-pad): one line, not a traceback.
        if getattr(args, "debug", False):
            raise
        print(f"minizf {args.command}: error: {_alone()}not enough memory: a size in the input files or the "
              "options is too large for this machine", file=sys.stderr)
        return _end(2)
    except (ValueError, KeyError, OSError) as err:
        # What a user can cause: bad arguments, unknown layers, unreadable or unwritable files,
        # a full disk. One line naming the culprit, no traceback (--debug shows it).
        if getattr(args, "debug", False):
            raise
        text = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"minizf {args.command}: error: {_alone()}{text}", file=sys.stderr)
        return _end(2)
    except Exception:
        import traceback
        traceback.print_exc()
        print(f"minizf {args.command}: an internal error, not a mistake of yours: please report it, with "
              "the command you ran and the lines above", file=sys.stderr)
        return _end(1)


if __name__ == "__main__":
    sys.exit(main())
