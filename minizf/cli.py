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
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="minizf", description="Zeiler & Fergus's deconvnet and experiments, from scratch.")
    parser.add_argument("--version", action="version", version=f"minizf {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("info", help="print the version, the models and the devices").set_defaults(run=cmd_info)

    from .commands import convert, figures, section5, training
    from .course.commands import add_commands as add_course_commands
    for group in (training, figures, section5, convert):
        group.add_commands(sub)
    add_course_commands(sub)
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


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    args.typed = list(sys.argv[1:] if argv is None else argv)     # what the user wrote, not the defaults
    if args.command is None:
        cmd_info(args)
        parser.print_help()
        return 0
    try:
        _check_out(args)
        return args.run(args)
    except KeyboardInterrupt:
        print(f"minizf {args.command}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        # A size in a file or an option asked for more memory than there is (a Linear of 1e6 x 1e6,
        # a huge --crop-pad): one line, not a traceback.
        if getattr(args, "debug", False):
            raise
        print(f"minizf {args.command}: error: not enough memory: a size in the input files or the options is "
              "too large for this machine", file=sys.stderr)
        return 2
    except (ValueError, KeyError, OSError) as err:
        # What a user can cause: bad arguments, unknown layers, unreadable or unwritable files,
        # a full disk. One line naming the culprit, no traceback (--debug shows it).
        if getattr(args, "debug", False):
            raise
        text = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"minizf {args.command}: error: {text}", file=sys.stderr)
        return 2
    except Exception:
        import traceback
        traceback.print_exc()
        print(f"minizf {args.command}: an internal error, not a mistake of yours: please report it, with "
              "the command you ran and the lines above", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
