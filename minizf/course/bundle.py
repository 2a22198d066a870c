"""Gradescope's autograder zip for one assignment: ``minizf assignment bundle NAME``.

Gradescope unpacks the zip into /autograder/source, runs ``setup.sh`` once
when it builds the image, then ``run_autograder`` for every submission, with
the student's files in /autograder/submission; the results go to
/autograder/results/results.json. The zip holds:

* ``minizf/``: this installed minizf's own package (the code that grades, so
  the grading is pinned to this version; its bundled models are left out);
* ``course.toml``: the course file's table for the assignment (or the defaults);
* ``setup.sh``: Python, a virtual environment with the versions of NumPy and
  minizf's other dependencies installed here, and bubblewrap where apt-get
  can install it;
* ``run_autograder``: ``minizf grade`` with ``--assignment``, ``--config`` and
  the sandbox chosen at bundle time. When grading cannot run (no sandbox on
  the image and ``--sandbox auto``), it still writes a results.json that
  says why, so the first test submission shows the problem.

``AUTOGRADER_ROOT`` (default /autograder) moves the whole layout, which is
how the tests run it in a temporary folder.
"""
import io
import os
import zipfile
from importlib import metadata
from pathlib import Path

from . import config as course_config

PACKAGE = Path(__file__).resolve().parent.parent
DEPENDENCIES = ("numpy", "pillow", "matplotlib", "tqdm", "threadpoolctl")

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, in /autograder/source, when it builds the autograder image.
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
if command -v apt-get >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
    apt-get install -y -qq bubblewrap libseccomp2 >/dev/null || echo "setup: bubblewrap could not be installed"
fi
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/pip" install -q {pins}
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade $ROOT/submission into $ROOT/results/results.json.
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
mkdir -p "$ROOT/results"
cd "$ROOT/source"
export PYTHONPATH="$ROOT/source"
"$ROOT/venv/bin/python" -m minizf.cli grade "$ROOT/submission" --assignment {name} --config course.toml \\
    --sandbox {sandbox} --json "$ROOT/results/results.json" > "$ROOT/results/report.txt" 2> "$ROOT/results/error.txt"
status=$?
cat "$ROOT/results/report.txt"
if [ "$status" -ne 0 ]; then
    "$ROOT/venv/bin/python" -c 'import json, sys; json.dump({{"score": 0, "output": "grading could not run: "
        + open(sys.argv[1], errors="replace").read()[-2000:], "tests": []}}, open(sys.argv[2], "w"))' \\
        "$ROOT/results/error.txt" "$ROOT/results/results.json"
fi
"""


def pins():
    """'numpy==2.4.6 pillow==...' for the dependencies installed here."""
    found = []
    for name in DEPENDENCIES:
        try:
            found.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(name)
    return " ".join(found)


def _package_files():
    """(path inside the zip, file) of minizf's Python sources and templates (no caches, no models)."""
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".html"):
            yield "minizf/" + path.relative_to(PACKAGE).as_posix(), path


def _add(archive, name, data, executable=False):
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (0o755 if executable else 0o644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def bundle(name, out, settings=None, config_path=None, sandbox_mode="auto", force=False):
    """Write Gradescope's autograder zip for assignment ``name`` to ``out``; returns its path."""
    from ..io import check_writable, save_bytes_atomic
    from .assignments import get
    get(name)
    if sandbox_mode not in ("auto", "bwrap", "none"):
        raise ValueError(f"--sandbox {sandbox_mode}: expected auto, bwrap or none")
    out = os.fspath(out)
    if os.path.exists(out) and not force:
        raise ValueError(f"{out} already exists; use --force to replace it")
    check_writable(out, "--out")
    settings = settings or course_config.Settings()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        _add(archive, "setup.sh", SETUP.format(pins=pins()), executable=True)
        _add(archive, "run_autograder", RUN.format(name=name, sandbox=sandbox_mode), executable=True)
        _add(archive, "course.toml", course_config.to_toml(name, settings))
        for inside, path in _package_files():
            _add(archive, inside, path.read_bytes())
    save_bytes_atomic(out, buf.getvalue())
    return out
