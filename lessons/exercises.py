"""Exercise cells of the lessons: your function once you have written it, the solution until then.

Each exercise in a lesson is a function whose body starts as
``raise NotImplementedError``. ``attempt(fn, lesson)`` returns a function
that runs yours; while yours still raises NotImplementedError it runs the
solution in ``solutions/`` beside this file instead (and says so once), so
the lesson runs top to bottom either way. ``check(name, hint)`` wraps the
lines that judge an exercise: properties a wrong answer fails (a gradient
check, an identity, a count computed another way), not equality with the
solution. When they fail, the hint names the likely mistake.

Run as a script, a failed check stops the lesson with its hint. Run by
``minizf lesson check FILE`` (which sets MINIZF_LESSON_REPORT), every
exercise is reported (passed, failed with its hint, not written) and a
failed one is replaced by the solution for the rest of the lesson, so the
next exercises are still judged.
"""
import contextlib
import functools
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT = "MINIZF_LESSON_REPORT"

_not_written, _failed = set(), set()


def out_folder():
    """Where a lesson writes its figures: $MINIZF_OUT, else out/ beside the script (a notebook:
    in the folder it runs in)."""
    main = sys.modules.get("__main__")
    where = os.path.dirname(os.path.abspath(main.__file__)) if getattr(main, "__file__", None) else os.getcwd()
    return os.environ.get("MINIZF_OUT", os.path.join(where, "out"))


def solution(lesson, name):
    """The function ``name`` of solutions/<lesson>.py."""
    path = os.path.join(HERE, "solutions", f"{lesson}.py")
    spec = importlib.util.spec_from_file_location(f"solutions_{lesson}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def attempt(fn, lesson):
    """fn, falling back to the lesson's solution while fn is not written (NotImplementedError), and
    after its check failed under ``minizf lesson check``."""
    name = fn.__name__

    @functools.wraps(fn)
    def run(*args, **kwargs):
        if name in _failed:
            return solution(lesson, name)(*args, **kwargs)
        try:
            return fn(*args, **kwargs)
        except NotImplementedError:
            if name not in _not_written:
                print(f"[exercise {name} not written yet: running the solution of lesson {lesson}]")
                _not_written.add(name)
            return solution(lesson, name)(*args, **kwargs)
    return run


def _report(name, status, why=""):
    path = os.environ.get(REPORT)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"exercise": name, "status": status, "why": why}) + "\n")


@contextlib.contextmanager
def check(name, hint):
    """The lines that judge exercise ``name``; ``hint``: the likely mistake when they fail."""
    try:
        yield
    except Exception as err:                    # noqa: BLE001 - an answer may fail in any way
        detail = f"{type(err).__name__}: {err}" if not isinstance(err, AssertionError) or str(err) else ""
        why = hint + (f" ({detail})" if detail else "")
        if not os.environ.get(REPORT):
            raise AssertionError(f"exercise {name}: {why}") from err
        _failed.add(name)                       # the rest of the lesson runs on the solution
        _report(name, "failed", why)
    else:
        _report(name, "not written" if name in _not_written else "passed")
