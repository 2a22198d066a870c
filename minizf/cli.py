"""The ``minizf`` command."""
import argparse
import sys

from . import __version__


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="minizf",
        description="Zeiler & Fergus's deconvnet and experiments, from scratch.")
    parser.add_argument("--version", action="version", version=f"minizf {__version__}")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("info", help="print the version, the models and the devices")
    args = parser.parse_args(argv)
    if args.command in (None, "info"):
        from .backend import cuda_available
        from .models import MODELS
        print(f"minizf {__version__}")
        print("models: " + ", ".join(MODELS))
        print(f"devices: cpu{', cuda' if cuda_available() else ''}")
        if args.command is None:
            parser.print_help()
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
