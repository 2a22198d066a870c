"""Gradescope's autograder zip for one assignment: ``minizf assignment bundle NAME``.

Gradescope unpacks the zip into /autograder/source, runs ``setup.sh`` once
when it builds the image, then ``run_autograder`` for every submission, with
the student's files in /autograder/submission; the results go to
/autograder/results/results.json. The zip holds:

* ``minizf/``: this installed minizf's own package (the code that grades, so
  the grading is pinned to this version; its bundled models are left out);
* ``course.toml``: the course file's table for the assignment (or the defaults);
* ``setup.sh``: Python and a virtual environment with what grading imports
  (NumPy and threadpoolctl at this machine's versions where the image's
  Python has them, else the ranges minizf is tested with; tomli on Python
  3.10), bubblewrap where apt-get can install it, the dedicated user the
  container tier runs students' code as, and the grader's files made root's
  only (so that user cannot read the answer key or the course);
* ``run_autograder``: ``minizf grade`` with ``--assignment``, ``--config`` and
  the sandbox chosen at bundle time (``auto``: bubblewrap where the container
  allows namespaces, else the container tier; ``none`` is never bundled).
  When grading cannot run, it still writes a results.json that says why, so
  the first test submission shows the problem.

Tested on Gradescope's images' Pythons (Ubuntu 22.04's 3.10, 24.04's 3.12) in
a Docker-like environment (tests/test_gradescope.py). ``AUTOGRADER_ROOT``
(default /autograder) moves the whole layout, and ``MINIZF_SETUP_NO_APT=1``
keeps setup.sh from apt-get, which is how the tests run it.
"""
import io
import os
import zipfile
from importlib import metadata
from pathlib import Path

from . import config as course_config
from .container import CREATE, USER

PACKAGE = Path(__file__).resolve().parent.parent
#: What grading imports, with the ranges of pyproject.toml (the fallback where this machine's versions
#: have no build for the image's Python, as NumPy 2.4 has none for 3.10).
DEPENDENCIES = {"numpy": ">=1.24,<3", "threadpoolctl": ">=3"}
SANDBOXES = ("auto", "bwrap", "container")

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root in /autograder/source, when it builds the autograder image.
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
if [ -z "${{MINIZF_SETUP_NO_APT:-}}" ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq python3 python3-venv python3-pip libseccomp2 >/dev/null
    apt-get install -y -qq bubblewrap >/dev/null || echo "setup: no bubblewrap; the container tier will grade"
fi
python3 -m venv "$ROOT/venv"
PY="$ROOT/venv/bin/python"
# The versions minizf was bundled with where this Python has them, else the ranges it is tested with.
"$PY" -m pip install -q {pins} 2>/dev/null || "$PY" -m pip install -q {ranges}
"$PY" -c "import tomllib" 2>/dev/null || "$PY" -m pip install -q "tomli>=1.1"
# The container tier runs each submission as this user: one of its own, no home, no shell.
id -u {user} >/dev/null 2>&1 || {create}
# The grader's files are root's only: that user must not read the answer key or the course; it
# must reach the virtual environment's Python and NumPy (passing through $ROOT, never listing it).
chmod -R go-rwx "$ROOT/source"
chmod o+x "$ROOT"
chmod -R o+rX "$ROOT/venv"
"$PY" -c "import numpy, threadpoolctl"
echo "setup: done ($("$PY" --version), numpy $("$PY" -c "import numpy; print(numpy.__version__)"))"
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade $ROOT/submission into $ROOT/results/results.json.
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
mkdir -p "$ROOT/results"
chmod go-w "$ROOT/results"
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
    """'numpy==2.4.6 threadpoolctl==...' for what grading imports, at the versions installed here."""
    found = []
    for name, wanted in DEPENDENCIES.items():
        try:
            found.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"'{name}{wanted}'")
    return " ".join(found)


def ranges():
    """"'numpy>=1.24,<3' ...": the fallback for an image whose Python the pins do not fit."""
    return " ".join(f"'{name}{wanted}'" for name, wanted in DEPENDENCIES.items())


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
    if sandbox_mode not in SANDBOXES:
        raise ValueError(f"--sandbox {sandbox_mode}: a bundle isolates every submission: expected one of "
                         f"{', '.join(SANDBOXES)} (none is for your own files, never a class's)")
    out = os.fspath(out)
    if os.path.exists(out) and not force:
        raise ValueError(f"{out} already exists; use --force to replace it")
    check_writable(out, "--out")
    settings = settings or course_config.Settings()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        _add(archive, "setup.sh", SETUP.format(pins=pins(), ranges=ranges(), user=USER, create=CREATE),
             executable=True)
        _add(archive, "run_autograder", RUN.format(name=name, sandbox=sandbox_mode), executable=True)
        _add(archive, "course.toml", course_config.to_toml(name, settings))
        for inside, path in _package_files():
            _add(archive, inside, path.read_bytes())
    save_bytes_atomic(out, buf.getvalue())
    return out
