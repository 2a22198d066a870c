"""A student's copy of a lesson, run to the end, each exercise reported.

The copy runs as a script in a process of its own (a notebook: its code cells, in order), with
MINIZF_LESSON_REPORT set: each exercise's ``check`` then writes its outcome to that file instead
of stopping the lesson, and a failed exercise is replaced by the solution for the rest of the
run, so every exercise is judged. It is the student's own code on the student's own machine:
run as they would run it, not sandboxed (the course's grader is for code one did not write).
"""
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from ..notebooks import code_of
from .catalog import exercises_in

TIMEOUT = 900


@dataclass
class Outcome:
    exercise: str
    status: str             # "passed", "failed", "not written" or "not reached"
    why: str = ""           # the hint of a failed exercise; where the lesson stopped, for one not reached


def script_of(path):
    """The code of a lesson file: a .py as it is, a notebook's code cells joined."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    if path.endswith(".ipynb"):
        try:
            text = code_of(json.loads(text))
        except ValueError as err:                      # not JSON, or not a notebook
            raise ValueError(f"{path}: not a readable notebook ({err})") from None
    return text


def _last_error(stderr):
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def run_copy(path, timeout=TIMEOUT):
    """[Outcome] of every exercise in the lesson file ``path``, run to its end."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"{path}: {'not a file' if os.path.exists(path) else 'no such file'}")
    if not path.endswith((".py", ".ipynb")):
        raise ValueError(f"{path}: expected a lesson as .py or .ipynb (minizf lesson get N)")
    text = script_of(path)
    names = exercises_in(text)
    if not names:
        raise ValueError(f"{path}: no exercises in it (each is written `NAME = attempt(NAME, \"LESSON\")`)")
    with tempfile.TemporaryDirectory(prefix="minizf-lesson-") as tmp:
        script = os.path.join(tmp, "lesson.py")
        with open(script, "w", encoding="utf-8") as f:
            f.write(text)
        report = os.path.join(tmp, "report.jsonl")
        env = dict(os.environ, MINIZF_LESSON_REPORT=report, MINIZF_OUT=os.path.join(tmp, "out"),
                   MPLBACKEND="Agg", MINIZF_QUICK="1")
        try:
            done = subprocess.run([sys.executable, script], cwd=os.path.dirname(os.path.abspath(path)), env=env,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ValueError(f"{path}: still running after {timeout} s; stopped") from None
        said = {}
        if os.path.exists(report):
            with open(report, encoding="utf-8") as f:
                for line in f:
                    entry = json.loads(line)
                    said.setdefault(entry["exercise"], Outcome(entry["exercise"], entry["status"], entry["why"]))
    stopped = f"the lesson stopped: {_last_error(done.stderr)}" if done.returncode else \
        "the lesson ended before its check"
    return [said.get(name, Outcome(name, "not reached", stopped)) for name in names]
