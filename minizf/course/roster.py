"""Grading a roster: one sub-folder (or file) per student, graded in parallel, one CSV row each.

``minizf grade ROSTER/ --assignment NAME --csv grades.csv``: every student is
graded on the same inputs (one seed for the roster, in the CSV), each in its
own sandbox, several at once (``--jobs``, default: the cores). A submission
that cannot be graded (no file, a link, too large) costs its own row only,
with the reason in ``flags``. Rows already in the CSV for an unchanged
submission (same SHA-256) are kept unless ``--force``. Pairs of students whose
function bodies match after renaming and reformatting are flagged on both
rows ("conv2d matches alice"), as are copies of minizf's own source.
"""
import csv
import hashlib
import io
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ..io import save_text_atomic
from . import config as course_config
from . import static
from .grader import find_submission, grade
from .report import safe

FIXED = ["id", "score", "max_score", "seconds", "flags", "sha256", "seed"]


def students(folder):
    """[(student id, path)]: each sub-folder, or each .py file, of the roster folder, by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: a roster is a folder with one sub-folder (or .py or .ipynb file) per student")
    found = [(p.name if p.is_dir() else p.stem, p) for p in sorted(folder.iterdir())
             if not p.name.startswith(".") and (p.is_dir() or p.suffix in (".py", ".ipynb"))]
    if not found:
        raise ValueError(f"{folder}: no student sub-folders or .py files in this roster")
    return found


def _digest(path, assignment):
    try:
        return hashlib.sha256(find_submission(path, assignment).data).hexdigest()
    except ValueError:
        return ""


def _grade_one(job):
    """One CSV row (dict) for one student; never raises."""
    student, path, assignment, course, seed, time_limit, mode, secret, output = job
    row = {"id": student, "seed": seed, "sha256": _digest(path, assignment)}
    try:
        report = grade(path, seed=seed, time_limit=time_limit, assignment=assignment, sandbox_mode=mode,
                       config=course, local_config=False,          # a course.toml among the files is the student's
                       secret=secret, output=output)
    except ValueError as exc:
        return {**row, "score": 0, "max_score": "", "seconds": "", "flags": f"error: {exc}"}
    flags = [note for note in report.notes if "matches minizf" in note]
    if report.sandbox == "none":
        flags.append("sandbox: none")
    row.update(score=f"{report.score:g}", max_score=f"{report.max_score:g}", seconds=f"{report.seconds:.2f}",
               flags="; ".join(flags))
    row.update({r.name: f"{r.score:g}" for r in report.results})
    return row


def _pairs(rows, paths, assignment, course):
    """Flags for students whose bodies match each other's: {id: ["conv2d matches bob", ...]}."""
    stubbed = course_config.for_assignment(course, assignment).stubbed(assignment)
    prints = {}
    for student, path in paths:
        try:
            text = find_submission(path, assignment).text
        except ValueError:
            continue
        for fn, (tree, size) in static.fingerprints(text).items():
            if fn in stubbed and size >= static.MIN_NODES:
                prints.setdefault((fn, tree), []).append(student)
    flags = {}
    for (fn, _), who in prints.items():
        for student in who:
            for other in who:
                if other != student:
                    flags.setdefault(student, []).append(f"{fn} matches {other}")
    return flags


def _read(csv_path):
    """The rows of an earlier grading of this roster, by student id; a file at csv_path that is not
    a grades CSV minizf wrote (its header starts with FIXED) is refused: it is never replaced."""
    if not os.path.lexists(csv_path):
        return {}
    try:
        with open(csv_path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames and reader.fieldnames[:len(FIXED)] == FIXED:
                return {row["id"]: row for row in reader}
    except (OSError, UnicodeDecodeError, csv.Error):
        pass
    raise ValueError(f"--csv {csv_path}: a file minizf did not write is there (not a grades table with the "
                     f"columns {','.join(FIXED)}); minizf never replaces it: move it or choose another name")


def _write(csv_path, rows):
    tests = list(dict.fromkeys(k for row in rows for k in row if k not in FIXED))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIXED + tests, restval="", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    save_text_atomic(csv_path, buf.getvalue())


def grade_roster(folder, csv_path, assignment=None, course=None, seed=None, time_limit=30.0, sandbox_mode="auto",
                 force=False, jobs=None, secret=()):
    """Grade every student of a roster folder into csv_path; prints a line per student; returns 0.

    In the container tier every student runs as the same user, whose processes are all killed after
    each test: students are then graded one at a time (jobs=1), and the roster itself must be
    unreadable to that user (one student's code would otherwise read the others' files).
    """
    if assignment is None:
        raise ValueError("--csv: name the assignment of the roster with --assignment")
    from . import sandbox
    secret = tuple(secret) + (os.path.abspath(folder),)
    output = (os.path.dirname(os.path.abspath(csv_path)),)
    mode = sandbox.resolve(sandbox_mode, secret, output)          # refused once, before any work
    roster = students(folder)
    if jobs is not None and jobs < 1:
        raise ValueError(f"--jobs {jobs}: must be at least 1")
    if mode == "container":
        if jobs not in (None, 1):
            print(f"--jobs {jobs}: the container tier grades one student at a time (they share one user)")
        jobs = 1
    old = _read(csv_path)                               # refuses a file minizf did not write
    old = {} if force else old
    seed = int(np.random.SeedSequence().entropy % 2**31) if seed is None else int(seed)
    todo, rows = [], {}
    for student, path in roster:
        kept = old.get(student)
        if kept and kept.get("sha256") and kept["sha256"] == _digest(path, assignment):
            rows[student] = kept
        else:
            todo.append((student, path, assignment, course, seed, time_limit, mode, secret, output))
    with ProcessPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        for row in pool.map(_grade_one, todo):
            rows[row["id"]] = row
            flags = f"  ({safe(row['flags'])})" if row["flags"] else ""
            print(f"{safe(row['id'])}: {row['score']} / {row['max_score']}{flags}", flush=True)
    matches = _pairs(rows, roster, assignment, course)
    ordered = []
    for student, _ in roster:
        row = dict(rows[student])
        earlier = [f for f in (row.get("flags") or "").split("; ") if f]
        mine = [f for f in earlier if "minizf" in f or " matches " not in f]      # pairs are found afresh
        row["flags"] = "; ".join(mine + sorted(set(matches.get(student, []))))
        ordered.append(row)
    _write(csv_path, ordered)
    print(f"graded {len(todo)} of {len(roster)} students ({len(roster) - len(todo)} unchanged since the last "
          f"run) into {csv_path}")
    return 0
