"""A course file: which functions students write, the points, partial credit and hidden tests.

One TOML table per assignment (read with the standard library's ``tomllib``, or
``tomli``, the same parser, on Python 3.10, as Gradescope's Ubuntu 22.04 has)::

    [conv]
    stub = ["conv2d_backward"]          # the functions the student writes; the rest are handed out solved
    points = { conv2d_backward = 10 }   # points of a function's tests together (default: the suite's)
    partial_credit = true               # a function scores the share of its tests passed (false: all or none)
    hidden = ["*real layer*"]           # tests (name patterns) run only when the instructor grades

A test belongs to the last function it names that the student writes (the
adjoint test of im2col and col2im belongs to col2im); a test that names none
of them is dropped, since it would grade code the student was given. Without
a course file every assignment is as ``minizf assignment list`` shows it.
"""
import fnmatch
from dataclasses import dataclass, field, replace
from pathlib import Path

from .assignments import ASSIGNMENTS

KEYS = {"stub", "points", "partial_credit", "hidden"}
MAX_BYTES = 256 << 10           # a course file is a few lines per assignment


@dataclass(frozen=True)
class Settings:
    """The course's choices for one assignment (defaults: every function stubbed, the suite's points)."""
    stub: tuple = None
    points: dict = field(default_factory=dict)
    partial_credit: bool = True
    hidden: tuple = ()
    source: str = None                 # the course file they came from, for the report

    def stubbed(self, assignment):
        return tuple(self.stub) if self.stub is not None else tuple(ASSIGNMENTS[assignment].function_names)


def load(path):
    """{assignment name: Settings} of a course file; one ValueError naming the file and the key otherwise."""
    tomllib = _toml()
    try:
        with open(path, "rb") as f:
            text = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
    if len(text) > MAX_BYTES:
        raise ValueError(f"{path}: more than {MAX_BYTES >> 10} KiB; a course file is a few lines per assignment")
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: not a valid TOML file ({exc})") from None
    except RecursionError:                               # lists nested thousands deep
        raise ValueError(f"{path}: not a valid course file (values nested too deep)") from None
    return {name: _settings(path, name, table) for name, table in data.items()}


def _toml():
    """The standard library's TOML reader, or tomli (its original) on Python 3.10."""
    try:
        import tomllib
    except ImportError:                                  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise ValueError("reading a course file on Python 3.10 needs tomli (pip install tomli)") from None
    return tomllib


def _settings(path, name, table):
    where = f"{path}: [{name}]"
    if name not in ASSIGNMENTS:
        raise ValueError(f"{where}: no assignment of that name; there are: {', '.join(ASSIGNMENTS)}")
    if not isinstance(table, dict) or set(table) - KEYS:
        raise ValueError(f"{where}: unknown keys {sorted(set(table) - KEYS) if isinstance(table, dict) else table}; "
                         f"expected {', '.join(sorted(KEYS))}")
    functions = ASSIGNMENTS[name].function_names
    stub = table.get("stub")
    if stub is not None and (not isinstance(stub, list) or not stub or set(stub) - set(functions)):
        raise ValueError(f"{where}: stub must list some of: {', '.join(functions)}")
    points = table.get("points", {})
    if not isinstance(points, dict) or set(points) - set(stub or functions) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 1e6 for v in points.values()):
        raise ValueError(f"{where}: points must map stubbed functions to finite numbers above 0 "
                         "(and below a million)")
    partial = table.get("partial_credit", True)
    hidden = table.get("hidden", [])
    if not isinstance(partial, bool) or not isinstance(hidden, list) or not all(isinstance(h, str) for h in hidden):
        raise ValueError(f"{where}: partial_credit is true or false, hidden a list of test name patterns")
    return Settings(tuple(stub) if stub else None, dict(points), partial, tuple(hidden), str(path))


def for_assignment(config, name):
    """The Settings of ``name`` in a loaded course file (or defaults when it has no table for it)."""
    return (config or {}).get(name, Settings())


def group_of(test, stubbed):
    """The function a test counts for: the last it names that the student writes (None: drop the test)."""
    mine = [fn for fn in test.functions if fn in stubbed]
    return mine[-1] if mine else None


def apply(tests, settings, assignment):
    """The suite as this course grades it: tests of given functions dropped, points per group, hidden marked."""
    stubbed = settings.stubbed(assignment)
    kept = [(t, group_of(t, stubbed)) for t in tests]
    kept = [(t, g) for t, g in kept if g is not None]
    out = []
    for fn in dict.fromkeys(g for _, g in kept):
        group = [t for t, g in kept if g == fn]
        default = sum(t.points for t in group)
        total = settings.points.get(fn, default)
        shares = [round(total * t.points / default, 2) for t in group]
        shares[-1] = round(total - sum(shares[:-1]), 2)       # the group adds up to its total
        for t, share in zip(group, shares):
            hidden = any(fnmatch.fnmatchcase(t.name, pattern) for pattern in settings.hidden)
            out.append(replace(t, points=round(share, 6), group=fn, hidden=hidden))
    names = [t.name for t in tests]
    return sorted(out, key=lambda t: names.index(t.name))          # the suite's order, not the groups'


def find_local(path):
    """The course.toml handed out beside a student's file (its folder), or None."""
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    candidate = folder / "course.toml"
    return candidate if candidate.is_file() and not candidate.is_symlink() else None


def to_toml(name, settings):
    """The table of one assignment as TOML text (what ``make`` hands out as course.toml)."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return repr(v)
    lines = [f"# minizf course file: assignment {name} (hidden tests run only when the instructor grades)",
             f"[{name}]"]
    if settings.stub is not None:
        lines.append(f"stub = {value(list(settings.stub))}")
    if settings.points:
        lines.append(f"points = {value(settings.points)}")
    lines.append(f"partial_credit = {value(settings.partial_credit)}")
    lines.append(f"hidden = {value(list(settings.hidden))}")
    return "\n".join(lines) + "\n"
