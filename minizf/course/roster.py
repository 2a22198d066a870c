"""Grading a roster: one sub-folder (or file) per student, graded in parallel, one CSV row each.

``minizf grade ROSTER/ --assignment NAME --csv grades.csv``: every student is
graded on the same inputs (one seed for the roster, kept in the CSV and
reused by later runs), each in its own sandbox, several at once (``--jobs``,
default: the cores). Whatever fails inside one submission's grading (no file,
a link, too large, a file that breaks a check of the grader's own) costs its
own row only: its status says why, its max_score stays. Rows already in the
CSV are kept unless ``--force`` for an unchanged submission graded the same
way (its SHA-256, and ``graded_with``: minizf's version, the course's table,
the time limit). Pairs of students whose function bodies match after
renaming and reformatting are flagged on both rows ("conv2d matches alice"),
as are copies of minizf's own source.

Ids are the sub-folder's or file's name, made unique (``alice/`` and
``alice.py`` are ``alice`` and ``alice.py``) and printable (a name that is not
UTF-8 is escaped); a cell that a spreadsheet would read as a formula (it
starts with ``=``, ``+``, ``-``, ``@``, a tab or a return) is written with a
leading ``'``, as OWASP advises. Each student's report is also written to
``GRADES-feedback/ID.md`` (Markdown) for upload to a learning platform.
"""
import csv
import hashlib
import html
import io
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from .. import __version__
from ..io import save_text_atomic
from . import config as course_config
from . import static
from .grader import find_submission, grade
from .report import format_report, safe

FIXED = ["id", "score", "max_score", "status", "seconds", "flags", "sha256", "graded_with", "seed"]
LEGACY = ["id", "score", "max_score", "seconds", "flags", "sha256", "seed"]      # minizf's earlier tables
FORMULA = ("=", "+", "-", "@", "\t", "\r")
MARK = "<!-- written by minizf grade --csv: replaced at each grading -->"


def _printable(name):
    """A file name as text: bytes that are not UTF-8 escaped (\\xNN), never an error."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def students(folder):
    """[(student id, path)]: each sub-folder, or each .py or .ipynb file, of the roster folder, by name.

    A file's id is its stem unless another entry has that name (alice/ beside alice.py): then its name.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: a roster is a folder with one sub-folder (or .py or .ipynb file) per student")
    entries = [p for p in sorted(folder.iterdir())
               if not p.name.startswith(".") and (p.is_dir() or p.suffix in (".py", ".ipynb"))]
    if not entries:
        raise ValueError(f"{folder}: no student sub-folders or .py files in this roster")
    stems = [p.name if p.is_dir() else p.stem for p in entries]
    ids = [stem if stems.count(stem) == 1 else p.name for stem, p in zip(stems, entries)]
    return [(_printable(i), p) for i, p in zip(ids, entries)]


def _cell(value):
    """A CSV cell no spreadsheet runs as a formula."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA) else text


def _uncell(text):
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA) else text


def _digest(path, assignment):
    try:
        return hashlib.sha256(find_submission(path, assignment).data).hexdigest()
    except Exception:                        # noqa: BLE001 - an unreadable submission has no digest
        return ""


def _graded_with(assignment, course, time_limit):
    """What else decides a row's scores: minizf's version, the course's table, the time limit."""
    settings = course_config.for_assignment(course, assignment)
    text = f"{__version__}|{course_config.to_toml(assignment, settings)}|{time_limit:g}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _grade_one(job):
    """(CSV row, report text or None) for one student; never raises: whatever goes wrong in one
    submission's grading, the grader's own checks included, costs that row only."""
    student, path, assignment, course, seed, time_limit, mode, secret, output, graded_with, max_score = job
    row = {"id": student, "seed": seed, "graded_with": graded_with, "sha256": _digest(path, assignment),
           "score": 0, "max_score": f"{max_score:g}", "seconds": "", "flags": ""}
    try:
        report = grade(path, seed=seed, time_limit=time_limit, assignment=assignment, sandbox_mode=mode,
                       config=course, local_config=False,          # a course.toml among the files is the student's
                       secret=secret, output=output)
    except ValueError as exc:
        return {**row, "status": f"not graded: {exc}"}, None
    except Exception as exc:                 # noqa: BLE001 - a grader bug must not cost the other students
        return {**row, "status": f"not graded: the grader failed on this file ({type(exc).__name__}: {exc}); "
                "please report it"}, None
    flags = [note for note in report.notes if "matches minizf" in note]
    if report.sandbox == "none":
        flags.append("sandbox: none")
    row.update(score=f"{report.score:g}", max_score=f"{report.max_score:g}", seconds=f"{report.seconds:.2f}",
               flags="; ".join(flags), status="graded")
    row.update({r.name: f"{r.score:g}" for r in report.results})
    return row, format_report(report)


def _pairs(rows, paths, assignment, course):
    """Flags for students whose bodies match each other's: {id: ["conv2d matches bob", ...]}."""
    stubbed = course_config.for_assignment(course, assignment).stubbed(assignment)
    prints = {}
    for student, path in paths:
        try:
            text = find_submission(path, assignment).text
        except Exception:                    # noqa: BLE001 - its row already says why it was not graded
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
            if reader.fieldnames and FIXED[:1] == reader.fieldnames[:1] and any(
                    reader.fieldnames[:len(known)] == known for known in (FIXED, LEGACY)):
                rows = [{k: _uncell(v or "") for k, v in row.items()} for row in reader]
                return {row["id"]: row for row in rows}
    except (OSError, UnicodeDecodeError, csv.Error):
        pass
    raise ValueError(f"--csv {csv_path}: a file minizf did not write is there (not a grades table with the "
                     f"columns {','.join(FIXED)}); minizf never replaces it: move it or choose another name")


def _write(csv_path, rows):
    tests = list(dict.fromkeys(k for row in rows for k in row if k not in FIXED))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIXED + [_cell(t) for t in tests], restval="", extrasaction="ignore")
    writer.writeheader()
    writer.writerows({(k if k in FIXED else _cell(k)): _cell(v) for k, v in row.items()} for row in rows)
    save_text_atomic(csv_path, buf.getvalue())


def feedback_folder(csv_path):
    """GRADES-feedback/ beside GRADES.csv."""
    base = os.path.splitext(os.fspath(csv_path))[0]
    return base + "-feedback"


def _feedback_name(student):
    """A file name for a student id: only letters, digits, '.', '-', '_' and spaces (no path, no hidden file)."""
    name = "".join(c if c.isalnum() or c in "._- " else "_" for c in student).lstrip(".") or "_"
    return name[:120] + ".md"


def _write_feedback(folder, student, text):
    """folder/ID.md: the student's report as Markdown; a file there that minizf did not write is kept
    (False)."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, _feedback_name(student))
    if os.path.lexists(path):
        try:
            with open(path, encoding="utf-8") as f:
                if f.readline().rstrip("\n") != MARK:
                    return False
        except (OSError, UnicodeDecodeError):
            return False
    title = html.escape(safe(student))                  # a folder named <script> is a name, on one line
    save_text_atomic(path, f"{MARK}\n# {title}\n\n```\n{text}\n```\n")
    return True


def _roster_seed(previous, seed):
    """The seed asked for, else the one the last run kept in the CSV, else a new one."""
    seeds = {row.get("seed") for row in previous.values() if (row.get("seed") or "").isdigit()}
    if seed is None:
        seed = seeds.pop() if len(seeds) == 1 else np.random.SeedSequence().entropy % 2**31
    return int(seed)


def _max_score(assignment, course):
    from .suites import SUITES
    settings = course_config.for_assignment(course, assignment)
    return sum(t.points for t in course_config.apply(SUITES[assignment], settings, assignment))


def _unchanged(row, path, assignment, graded_with, seed):
    """True when an earlier row is still this submission's grade: same bytes, graded the same way."""
    return bool(row and row.get("sha256")) and row["sha256"] == _digest(path, assignment) \
        and row.get("graded_with") == graded_with and row.get("seed") == str(seed)


def _grade_todo(todo, jobs, feedback):
    """Grade the jobs several at once, a line printed and a feedback file written for each; {id: row}."""
    rows = {}
    with ProcessPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        for row, text in pool.map(_grade_one, todo):
            rows[row["id"]] = row
            if text is not None and not _write_feedback(feedback, row["id"], text):
                row["flags"] = "; ".join(filter(None, [row["flags"], "feedback file kept: minizf did not write "
                                                       "the one there"]))
            said = row["flags"] if row["status"] == "graded" else row["status"]
            print(f"{safe(row['id'])}: {row['score']} / {row['max_score']}" + (f"  ({safe(said)})" if said else ""),
                  flush=True)
    return rows


def _with_pairs(rows, roster, assignment, course):
    """The rows in roster order, their "X matches Y" flags found afresh over the whole roster."""
    matches = _pairs(rows, roster, assignment, course)
    ordered = []
    for student, _ in roster:
        row = dict(rows[student])
        earlier = [f for f in (row.get("flags") or "").split("; ") if f]
        mine = [f for f in earlier if "minizf" in f or " matches " not in f]
        row["flags"] = "; ".join(mine + sorted(set(matches.get(student, []))))
        ordered.append(row)
    return ordered


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
    previous = _read(csv_path)                          # refuses a file minizf did not write
    seed = _roster_seed(previous, seed)
    graded_with, max_score = _graded_with(assignment, course, time_limit), _max_score(assignment, course)
    old = {} if force else previous
    kept = {s: old[s] for s, path in roster if _unchanged(old.get(s), path, assignment, graded_with, seed)}
    todo = [(s, path, assignment, course, seed, time_limit, mode, secret, output, graded_with, max_score)
            for s, path in roster if s not in kept]
    feedback = feedback_folder(csv_path)
    rows = {**kept, **_grade_todo(todo, jobs, feedback)}
    _write(csv_path, _with_pairs(rows, roster, assignment, course))
    print(f"graded {len(todo)} of {len(roster)} students ({len(kept)} unchanged since the last run) into "
          f"{csv_path}; reports in {feedback}/")
    return 0
