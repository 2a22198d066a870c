"""The grader: a student's file, run in its own process, scored against the library.

``grade(path)`` finds the assignment of a student file (or folder), starts
``sandbox.py`` on it, runs the assignment's tests (``suites``) and returns a
Report: one TestResult per test with points and what was compared, printed by
``format_report`` or written as Gradescope's ``results.json`` by ``results_json``.

Why a second process: the reference code and the numerical gradients live
here, in the grader; the student's process holds only NumPy and the student's
module, with minizf and torch refused. Inputs are drawn afresh for every run
(the seed is printed), so answers cannot be looked up in advance.
"""
import ast
import json
import os
import select
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..io import save_text_atomic
from . import sandbox
from .assignments import ASSIGNMENTS

SANDBOX = Path(sandbox.__file__).resolve()
MAX_MESSAGE = 1 << 29          # bytes: far more than any answer to the graded inputs


class StudentError(Exception):
    """The student's code raised, timed out, or returned something unreadable."""


class Fail(Exception):
    """A test's comparison failed; the message says where and how."""


# ---- the student's process ---------------------------------------------------------------

class Sandbox:
    """A running sandbox.py on one student file; ``call(name, *args)`` runs one function there."""

    def __init__(self, path, time_limit=30.0):
        self.path, self.time_limit = Path(path).resolve(), time_limit
        self.proc = None
        self.import_error = None
        self.deadline = None
        self.start()

    def start(self):
        to_child, self._w = os.pipe()
        self._r, from_child = os.pipe()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(SANDBOX), str(self.path), str(to_child), str(from_child)],
            pass_fds=(to_child, from_child), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, cwd=str(self.path.parent), env=env)
        os.close(to_child)
        os.close(from_child)
        self.deadline = time.monotonic() + max(self.time_limit, 10.0)   # importing NumPy takes a moment
        try:
            hello, _ = self._receive()
        except StudentError as err:          # the file hangs or exits while it is imported
            self.import_error = f"importing it {err}"
            self.close()
            return
        self.import_error = None if hello.get("ready") else _explain(hello)

    def close(self):
        if self.proc is not None:
            for fd in (self._w, self._r):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def restart(self):
        self.close()
        self.start()

    def _read(self, n):
        chunks = []
        while n:
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([self._r], [], [], left)[0]:
                raise TimeoutError
            part = os.read(self._r, min(n, 1 << 20))
            if not part:
                raise StudentError("the student's process ended (crashed or called exit)")
            chunks.append(part)
            n -= len(part)
        return b"".join(chunks)

    def _receive(self):
        try:
            size = struct.unpack("<Q", self._read(8))[0]
            if size > MAX_MESSAGE:
                raise StudentError(f"sent a message of {size} bytes (more than {MAX_MESSAGE})")
            data = self._read(size)
        except TimeoutError:
            raise StudentError(f"timed out after {self.time_limit:g} s") from None
        try:
            return sandbox.unpack(data)
        except Exception as exc:
            raise StudentError(f"returned something that cannot be read back as numbers ({exc})") from None

    def call(self, name, *args, **kwargs):
        """The student's ``name(*args, **kwargs)``; StudentError if it raised or ran too long."""
        if self.proc is None or self.proc.poll() is not None:
            self.restart()
        arrays = []
        meta = {"call": name, "args": [sandbox.encode(a, arrays) for a in args],
                "kwargs": {k: sandbox.encode(v, arrays) for k, v in kwargs.items()}}
        try:
            sandbox.send(self._w, meta, arrays)
            answer, out = self._receive()
        except (BrokenPipeError, StudentError):
            self.close()
            raise
        if "error" in answer:
            raise StudentError(_explain(answer, name))
        if answer.get("mutated"):
            which = ", ".join(f"argument {i + 1}" for i in answer["mutated"])
            raise StudentError(f"{name} changed its input in place ({which}); return new arrays instead")
        result = sandbox.decode(answer["result"], out)
        return result


def _explain(answer, name=None):
    """One sentence for an error the student's code raised."""
    error, message, where = answer.get("error"), answer.get("message", ""), answer.get("where")
    if error == "NotImplementedError":
        return f"{name or 'the file'} is not written yet (NotImplementedError)"
    elif error == "ImportError" and "not allowed" in message:
        text = f"{message}: no points for code that uses the library or torch"
    else:
        text = f"{name + ' ' if name else ''}raised {error}: {message}"
    return text + (f"  [at {where}]" if where else "")


class Student:
    """``student.conv2d(x, W)`` calls the student's conv2d in the sandbox."""

    def __init__(self, box):
        self._box = box

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._box.call(name, *args, **kwargs)


# ---- static check: code that reaches for the answer --------------------------------------

_FORBIDDEN_CALLS = {"__import__", "exec", "eval", "compile"}


def _docstrings(tree):
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _offence(node, docs):
    """Why this node reaches around the grader's rules, or None."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            root = alias.name.split(".")[0]
            if root in sandbox.BLOCKED or root == "importlib":
                return f"imports {alias.name}"
    if isinstance(node, ast.ImportFrom) and node.module:
        root = node.module.split(".")[0]
        if root in sandbox.BLOCKED or root == "importlib":
            return f"imports from {node.module}"
    if isinstance(node, ast.Name) and node.id in _FORBIDDEN_CALLS:
        return f"uses {node.id}"
    if isinstance(node, ast.Attribute) and (node.attr in ("meta_path", "path_hooks") or node.attr == "modules" and
                                             isinstance(node.value, ast.Name) and node.value.id == "sys"):
        return f"touches sys.{node.attr}"
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
        if any(word in node.value for word in sandbox.BLOCKED):
            return f"names {node.value!r}"
    return None


def forbidden(source):
    """{function name or "": [(line, reason)]} for code that imports or reaches for the library."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    docs = _docstrings(tree)
    found = {}
    owners = {}
    for top in tree.body:
        owner = top.name if isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef)) else ""
        for node in ast.walk(top):
            owners[id(node)] = owner
    for node in ast.walk(tree):
        reason = _offence(node, docs)
        if reason:
            found.setdefault(owners.get(id(node), ""), []).append((node.lineno, reason))
    return found


# ---- tests and results -------------------------------------------------------------------

@dataclass
class Test:
    """One graded check: ``run(student, rng)`` returns what it compared, or raises Fail."""
    name: str
    points: int
    functions: tuple
    run: object = field(repr=False)


@dataclass
class TestResult:
    name: str
    score: float
    max_score: float
    output: str


@dataclass
class Report:
    assignment: str
    path: str
    seed: int
    results: list

    @property
    def score(self):
        return sum(r.score for r in self.results)

    @property
    def max_score(self):
        return sum(r.max_score for r in self.results)


def find_submission(path):
    """(assignment name, file) for a student file or a folder holding NAME.py."""
    path = Path(path)
    if path.is_dir():
        candidates = [path / f"{path.name}.py"] + sorted(path.glob("*.py"))
        candidates = [p for p in candidates if p.is_file() and not p.stem.endswith("_walkthrough")]
        for p in candidates:
            if _assignment_of(p):
                return _assignment_of(p), p
        raise ValueError(f"{path}: no assignment file (NAME.py with ASSIGNMENT = \"NAME\") in this folder")
    if not path.is_file():
        raise ValueError(f"{path}: no such file or folder")
    name = _assignment_of(path)
    if not name:
        raise ValueError(f"{path}: not an assignment file: expected a line ASSIGNMENT = \"NAME\" "
                         f"or a file named after one of: {', '.join(ASSIGNMENTS)}")
    return name, path


def _assignment_of(path):
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
    for line in text.splitlines():
        stripped = line.replace(" ", "")
        if stripped.startswith("ASSIGNMENT="):
            name = stripped.split("=", 1)[1].strip("'\"")
            return name if name in ASSIGNMENTS else None
    return path.stem if path.stem in ASSIGNMENTS else None


def _run_one(test, student, box, rng, flagged):
    """A TestResult for one test (full points or none)."""
    hits = [f"{fn} (line {line}) {why}" for fn in test.functions for line, why in flagged.get(fn, [])]
    hits += [f"line {line} {why}" for line, why in flagged.get("", [])]
    if hits:
        return TestResult(test.name, 0, test.points, "0 points: the submission " + "; ".join(hits)
                          + " -- not allowed: write the code yourself")
    if box.import_error:
        return TestResult(test.name, 0, test.points, "the file does not import: " + box.import_error)
    if box.proc is None:
        box.restart()
    box.deadline = time.monotonic() + box.time_limit
    try:
        what = test.run(student, rng)
        return TestResult(test.name, test.points, test.points, what)
    except (Fail, StudentError) as exc:
        return TestResult(test.name, 0, test.points, str(exc))


def grade(path, seed=None, time_limit=30.0, progress=None):
    """Grade a student file or folder: a Report with one TestResult per test."""
    from .suites import SUITES                  # the tests use the library: imported on demand
    name, file = find_submission(path)
    seed = int(np.random.SeedSequence().entropy % 2**31) if seed is None else int(seed)
    flagged = forbidden(file.read_text(errors="replace"))
    box = Sandbox(file, time_limit)
    student = Student(box)
    results = []
    try:
        for i, test in enumerate(SUITES[name]):
            rng = np.random.default_rng([seed, i])
            results.append(_run_one(test, student, box, rng, flagged))
            if progress:
                progress(results[-1])
    finally:
        box.close()
    return Report(name, str(file), seed, results)


def format_line(result):
    mark = "ok  " if result.score == result.max_score else "FAIL"
    return f"{mark} {result.score:g}/{result.max_score:g}  {result.name}: {result.output}"


def format_report(report):
    lines = [f"grading {report.path} as assignment {report.assignment!r} (inputs drawn with --seed {report.seed})"]
    lines += [format_line(r) for r in report.results]
    lines.append(f"score {report.score:g} / {report.max_score:g}")
    return "\n".join(lines)


def results_json(report):
    """Gradescope's autograder results.json as a dict."""
    return {"score": report.score,
            "output": f"assignment {report.assignment}, inputs drawn with seed {report.seed}",
            "tests": [{"name": r.name, "score": r.score, "max_score": r.max_score, "output": r.output}
                      for r in report.results]}


def write_json(report, path):
    save_text_atomic(path, json.dumps(results_json(report), indent=1) + "\n")
