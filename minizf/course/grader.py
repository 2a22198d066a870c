"""The grader: a student's file, run in a sandbox, scored against the library.

``grade(path)`` pins the assignment (``--assignment``, else the folder handed
out, else the file's name), reads the submission once (a regular file, not a
link, at most ``LIMITS.submission`` bytes), checks it statically (``static``),
starts it in the sandbox (``student``, ``sandbox``), runs the assignment's
tests (``suites``) and returns a Report, printed by ``report.format_report`` or
written as Gradescope's results.json by ``report.write_json``.

Why a sandbox: the reference code and the numerical gradients live here, in
the grader; the student's process holds only NumPy and the student's module,
cannot see the grader's files or processes, and everything in it ends with it.
Inputs are drawn from a seed made from the submission's bytes (printed, and
in results.json): answers cannot be looked up in advance, since any change to
the file draws new inputs, and grading the same file again gives the same score.
"""
import hashlib
import os
import stat
import time
from pathlib import Path

import numpy as np

from . import config as course_config
from . import discover, sandbox, static
from .assignments import ASSIGNMENTS, get, student_source
from .notebook import graded_source
from .outcome import Fail, Report, StudentError, TestResult
from .student import Student, StudentProcess


class Submission:
    """A submission read once: its assignment (pinned, and how), its path, bytes and text; ``note`` says
    which file was chosen when several could have been."""

    def __init__(self, assignment, path, data, how, note=None):
        self.assignment, self.path, self.data, self.how, self.note = assignment, path, data, how, note
        self.text = data.decode("utf-8", errors="replace")

    def marker(self):
        """The assignment the file's own ``ASSIGNMENT = "NAME"`` line names, or None."""
        return discover.marker(self.text)


def read_submission(path, limit=sandbox.LIMITS.submission):
    """The bytes of a student file: a regular file (not a link, not a device), at most ``limit`` bytes;
    for a notebook (.ipynb), the code of its graded cells."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror.lower() if exc.strerror else 'cannot read'}") from None
    if stat.S_ISLNK(info.st_mode):
        raise ValueError(f"{path}: is a symbolic link; hand in the file itself")
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{path}: not a regular file")
    if info.st_size > limit:
        raise ValueError(f"{path}: {info.st_size} bytes; a submission may have at most {limit} bytes")
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path}: more than {limit} bytes; a submission may have at most {limit}")
    if str(path).endswith(".ipynb"):            # a notebook: its tagged cells are the file
        data = graded_source(data, path).encode()
    return data


def _discovered(folder, name, how, limit=sandbox.LIMITS.submission):
    """The Submission of assignment ``name`` found anywhere in a student's folder (discover.py)."""
    found, note = discover.locate(folder, name, limit)
    try:
        data = found.read()
    except (OSError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{found.label}: cannot read ({exc})") from None
    if len(data) > limit:
        raise ValueError(f"{found.label}: more than {limit} bytes; a submission may have at most {limit}")
    if found.suffix == ".ipynb":
        data = graded_source(data, found.label).encode()
    return Submission(name, found.label, data, how, note)


def find_submission(path, assignment=None):
    """The Submission at ``path`` (a student file, or the folder holding NAME.py).

    The assignment is pinned by the instructor (``assignment``), else by the folder's name, else
    by the file's name; only when none of them names one does the file's own marker count.
    """
    path = Path(path)
    if assignment is not None:
        get(assignment)                       # a ValueError listing the assignments
    if path.is_dir() and not path.is_symlink():
        name = assignment or (path.name if path.name in ASSIGNMENTS else None)
        if name:
            how = "--assignment" if assignment else "the folder's name"
            if (path / f"{name}.py").is_symlink():
                read_submission(path / f"{name}.py")          # refused, naming the link
            return _discovered(path, name, how)
        files = sorted(p for p in path.glob("*.py") if not p.stem.endswith("_walkthrough"))
        for file in files:
            found = Submission(None, file, read_submission(file), "the file's ASSIGNMENT line")
            if found.marker() in ASSIGNMENTS:
                found.assignment = found.marker()
                return found
        raise ValueError(f"{path}: no assignment file (NAME.py with ASSIGNMENT = \"NAME\") in this folder; "
                         "or name the assignment with --assignment")
    found = Submission(None, path, read_submission(path), None)
    for name, how in ((assignment, "--assignment"), (path.stem, "the file's name"),
                      (found.marker(), "the file's ASSIGNMENT line")):
        if name in ASSIGNMENTS:
            found.assignment, found.how = name, how
            return found
    raise ValueError(f"{path}: not an assignment file: expected a line ASSIGNMENT = \"NAME\", a file named "
                     f"after one of: {', '.join(ASSIGNMENTS)}, or --assignment")


def content_seed(data, assignment):
    """The seed of a submission's inputs: from its bytes and assignment, so a regrade draws the same."""
    digest = hashlib.sha256(assignment.encode() + b"\0" + data).digest()
    return int.from_bytes(digest[:4], "little") % 2**31


def _charges(test, flagged):
    hits = [f"{fn} (line {line}) {why}" for fn in test.functions for line, why in flagged.get(fn, [])]
    return hits + [f"line {line} {why}" for line, why in flagged.get("", [])]


def _run_one(test, student, process, rng, flagged, time_limit, voided):
    """A TestResult for one test (full points or none)."""
    hits = _charges(test, flagged)
    if hits:
        return TestResult(test.name, 0, test.points, "0 points: the submission " + "; ".join(hits)
                          + " -- not allowed: write the code yourself")
    slow = [fn for fn in test.functions if fn in voided]
    if slow:
        return TestResult(test.name, 0, test.points, f"not counted: {slow[0]} timed out at the size of a real "
                          "layer, where an honest loop takes well under a second (a backward computed by finite "
                          "differences of the forward is not a backward)")
    if process.import_error:
        return TestResult(test.name, 0, test.points, "the file does not import: " + process.import_error)
    began = time.monotonic()
    process.begin_test(test.time_limit or time_limit)
    try:
        what = test.run(student, rng)
        return TestResult(test.name, test.points, test.points, what, time.monotonic() - began)
    except (Fail, StudentError) as exc:
        return TestResult(test.name, 0, test.points, str(exc), time.monotonic() - began)
    except Exception as exc:                  # noqa: BLE001 - an answer of a form no comparison expected
        return TestResult(test.name, 0, test.points, f"could not use the answer ({type(exc).__name__}: {exc})",
                          time.monotonic() - began)
    finally:
        process.tidy()                        # nothing the test started outlives it


def _notes(found, settings, skipped_hidden):
    """What the instructor should know beyond the scores: how the assignment was pinned, provenance."""
    notes = [f"assignment {found.assignment!r} from {found.how}"] + ([found.note] if found.note else [])
    marker = found.marker()
    if marker is not None and marker != found.assignment:
        notes.append(f"the file says ASSIGNMENT = {marker!r}; graded as {found.assignment!r}")
    if settings.source:
        local = f" (a local check: {skipped_hidden} hidden test(s) run only when the instructor grades)"
        notes.append(f"course file {settings.source}" + (local if skipped_hidden else ""))
    named = static.mentions(found.text)
    if named:
        notes.append("strings that name a package a submission may not import (not charged; for you to look "
                     "at): " + "; ".join(f"line {line} {text!r}" for line, text in named[:5]))
    key = student_source(ASSIGNMENTS[found.assignment], solution=True)
    same = static.provenance(found.text, key, settings.stubbed(found.assignment))
    if same:
        notes.append(f"{', '.join(same)}: the body matches minizf's own source after renaming and "
                     "reformatting (the key is public; ask the student)")
    return notes


def _void_after_failed_gate(results, tests, failed):
    """A function that failed its test at a real layer's size (for any reason: a finite-difference
    backward that raises there fails fast instead of timing out) scores none of its other tests;
    they ran, so the student still sees each one's comparison and hint."""
    for t, r in zip(tests, results):
        which = [fn for fn in t.functions if fn in failed]
        if which and r.score and not t.gate:
            r.score = 0
            r.output += (f" (not counted: {which[0]} did not pass its test at the size of a real layer, and "
                         "a function counts only where it works at that size)")


def _all_or_nothing(results, tests):
    """partial_credit = false: a group with a failed test scores nothing."""
    failed = {t.group for t, r in zip(tests, results) if not r.passed}
    for t, r in zip(tests, results):
        if t.group in failed and r.score:
            r.score = 0
            r.output += f" (not counted: another test of {t.group} failed, and its tests count all or nothing)"


def grade(path, seed=None, time_limit=30.0, progress=None, assignment=None, sandbox_mode="auto", config=None,
          local_config=True, secret=(), output=()):
    """Grade a student file or folder: a Report with one TestResult per test.

    config: a loaded course file ({name: Settings}); without one (and with ``local_config``), a
    course.toml handed out in the student's folder makes this a student's local check (the
    course's points and stubs, hidden tests skipped). A roster passes local_config=False: a file
    beside a submission is the student's and never sets how it is graded. secret and output: paths
    the student's code must not read (the course file) and folders it must not write in (where the
    results go), checked as the student's user in the container tier.
    """
    from .suites import SUITES                  # the tests use the library: imported on demand
    began = time.monotonic()
    mode = sandbox.resolve(sandbox_mode, secret, output)
    found = find_submission(path, assignment)
    local = config is None and local_config and course_config.find_local(path)
    if local:
        config = course_config.load(local)
    settings = course_config.for_assignment(config, found.assignment)
    suite = SUITES[found.assignment]
    index = {t.name: i for i, t in enumerate(suite)}
    tests = course_config.apply(suite, settings, found.assignment)
    skipped = sum(t.hidden for t in tests) if local else 0
    tests = [t for t in tests if not (local and t.hidden)]
    seed = content_seed(found.data, found.assignment) if seed is None else int(seed)
    flagged = static.forbidden(found.text)
    process = StudentProcess(found.data, f"{found.assignment}.py", mode, time_limit)
    student = Student(process)
    results, voided, failed_gate, ran = [], set(), set(), []
    try:                                        # gate tests first: failing one voids the function's others
        for test in sorted(tests, key=lambda t: not t.gate):
            rng = np.random.default_rng([seed, index[test.name]])
            results.append(_run_one(test, student, process, rng, flagged, time_limit, voided))
            results[-1].hidden = test.hidden
            ran.append(test)
            if test.gate and results[-1].output.startswith("timed out"):
                voided.update(test.functions)        # its other tests are not even run
            elif test.gate and not results[-1].passed:
                failed_gate.update(test.functions)
            if progress:
                progress(results[-1])
    finally:
        process.close()
    _void_after_failed_gate(results, ran, failed_gate)
    if not settings.partial_credit:
        _all_or_nothing(results, ran)
    return Report(found.assignment, str(found.path), seed, results, sandbox=mode,
                  runs_as=sandbox.runs_as(mode),
                  notes=_notes(found, settings, skipped), seconds=time.monotonic() - began)
