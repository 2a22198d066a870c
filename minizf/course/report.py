"""The grader's report: lines for a terminal, and Gradescope's results.json.

Text that comes from the student's process (exception messages, type names)
is made safe before it is shown (``safe``): control characters, escape
sequences, newlines and invisible formatting characters are written as
escapes, so a student's text is always part of one grader line, never a line
of its own: a message cannot print "score 16 / 16" or recolour the terminal.
"""
import json
import unicodedata

from .. import __version__
from ..io import WRITTEN_BY, save_text_atomic

MAX_OUTPUT = 2000           # characters of one test's output


def safe(text, limit=MAX_OUTPUT):
    """text on one line: control and format characters escaped, lone surrogates replaced, capped."""
    out = []
    for ch in str(text)[:limit]:
        if ch == "\n":
            out.append("\\n")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(f"\\u{ord(ch):04x}" if ord(ch) > 0xFF else f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out) + (" [cut]" if len(text) > limit else "")


def format_line(result):
    mark = "ok  " if result.passed else "FAIL"
    hidden = " (hidden from students)" if result.hidden else ""
    return (f"{mark} {result.score:g}/{result.max_score:g}  {result.name}{hidden}: {safe(result.output)}"
            f"  [{result.seconds:.2f} s]")


def header(report):
    """The first lines: what was graded, how, and the instructor's notes."""
    lines = [f"grading {safe(report.path)} as assignment {report.assignment!r} "
             f"(inputs drawn with --seed {report.seed}; sandbox: {report.sandbox}"
             + (f", as user {report.runs_as})" if report.sandbox == "container" else ")")]
    if report.sandbox == "none":
        lines.append(f"warning: --sandbox none: the student's code ran as {report.runs_as}, with the files and "
                     "network that user can reach")
    lines += [f"note: {safe(note)}" for note in report.notes]
    return lines


def format_report(report):
    lines = header(report) + [format_line(r) for r in report.results]
    lines.append(f"score {report.score:g} / {report.max_score:g}")
    return "\n".join(lines)


def results_json(report):
    """Gradescope's autograder results.json as a dict (its documented schema: the total's maximum, the
    seed and the sandbox go in extra_data, the schema's place for what it does not name)."""
    output = "\n".join(header(report))
    return {"score": report.score, "execution_time": round(report.seconds, 3),
            "output": output, "visibility": "visible", "stdout_visibility": "hidden",
            "extra_data": {"max_score": report.max_score, "assignment": report.assignment, "seed": report.seed,
                           "sandbox": report.sandbox, "written_by": f"{WRITTEN_BY} {__version__}"},
            "tests": [{"name": r.name, "score": r.score, "max_score": r.max_score,
                       "status": "passed" if r.passed else "failed", "output": safe(r.output),
                       "visibility": "after_published" if r.hidden else "visible"}
                      for r in report.results]}


def write_json(report, path):
    """results.json, written atomically (the old file or the whole new one)."""
    save_text_atomic(path, json.dumps(results_json(report), indent=1, ensure_ascii=True) + "\n")
