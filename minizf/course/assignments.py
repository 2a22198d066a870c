"""The assignments: which library functions a student writes, and the files handed out.

``make("pool", "hw")`` writes ``hw/pool/pool.py`` (the student file: every
function to write keeps the signature and docstring of ``minizf.functional``,
its body a stub), ``hw/pool/README.md`` (the task and its conventions) and
``hw/pool/pool_walkthrough.py`` (``# %%`` cells that run the student's code
step by step). ``make(..., solution=True)`` writes the library's own bodies
instead of stubs: the instructor's key.
"""
import os
from dataclasses import dataclass, field
from pathlib import Path

from .. import functional as F
from ..io import save_text_atomic
from . import source, texts


@dataclass(frozen=True)
class Assignment:
    """One assignment: the functions to write (from minizf.functional) and the helpers handed out."""
    name: str
    title: str
    functions: tuple
    given: tuple = ()
    walkthrough: str = field(default="", repr=False)

    @property
    def function_names(self):
        return [fn.__name__ for fn in self.functions]


ASSIGNMENTS = {a.name: a for a in [
    Assignment("conv", "Convolution by im2col, and its transpose",
               (F.im2col, F.col2im, F.conv2d, F.conv2d_backward), (F.output_size, F.pair),
               texts.WALK_CONV),
    Assignment("pool", "Max-pooling with switches, and unpooling",
               (F.max_pool2d, F.unpool, F.max_pool2d_backward), (F.output_size, F.pair),
               texts.WALK_POOL),
    Assignment("lrn", "Local response normalization across channels",
               (F.lrn, F.lrn_backward), (), texts.WALK_LRN),
    Assignment("layers", "ReLU, dropout, fully connected, softmax cross-entropy",
               (F.relu, F.relu_backward, F.dropout, F.dropout_backward, F.linear, F.linear_backward,
                F.softmax_cross_entropy, F.softmax_cross_entropy_backward), (), texts.WALK_LAYERS),
    Assignment("deconv", "The deconvnet's reverse maps, and receptive fields",
               (F.relu_reverse, F.unpool, F.conv2d_backward_input, F.receptive_boxes), (F.pair,),
               texts.WALK_DECONV),
    Assignment("sgd", "SGD with momentum and weight decay", (F.sgd_momentum,), (), texts.WALK_SGD),
]}


def get(name):
    """The Assignment called ``name``; a ValueError listing the others when there is none."""
    if name not in ASSIGNMENTS:
        raise ValueError(f"no assignment named {name!r}; there are: {', '.join(ASSIGNMENTS)}")
    return ASSIGNMENTS[name]


def header(assignment, solution):
    """The top of an assignment file: what it is, the one import allowed, the marker the grader reads."""
    kind = "SOLUTION (instructors only)" if solution else "student file"
    return (f'"""minizf assignment "{assignment.name}": {assignment.title} -- {kind}.\n\n'
            f"Write the bodies between the BEGIN/END markers. Use NumPy only: the grader\n"
            f"refuses submissions that import minizf or torch. Read README.md first;\n"
            f"check your work with:  minizf grade {assignment.name}.py\n"
            f'"""\nimport numpy as np\n\nASSIGNMENT = "{assignment.name}"\n')


def student_source(assignment, solution=False, stub=None):
    """The text of NAME.py: header, helpers handed out, then each function (stub or solution).

    ``stub``: the functions the student writes (default: all of them); the others are handed
    out solved, with the helpers, above the ones to write.
    """
    stub = set(stub or assignment.function_names)
    solved = [fn for fn in assignment.functions if fn.__name__ not in stub and not solution]
    given = list(assignment.given) + solved
    given_sources = [(fn.__name__, source.plain_text(fn)) for fn in given]
    given_sources += source.helpers(given)
    parts = [header(assignment, solution)]
    if given_sources:
        parts.append("\n# ---- Given: helpers you may use as they are " + "-" * 30 + "\n")
        parts += ["\n\n" + text for _, text in given_sources]
    to_write = [fn for fn in assignment.functions if solution or fn.__name__ in stub]
    if solution:
        names = {name for name, _ in given_sources}
        extra = [text for name, text in source.helpers(assignment.functions) if name not in names]
        if extra:
            parts.append("\n# ---- Helpers of the solution (minizf's own) " + "-" * 30 + "\n")
            parts += ["\n\n" + text for text in extra]
    parts.append("\n# ---- To write " + "-" * 60 + "\n")
    parts += ["\n\n" + source.function_text(fn, solution, texts.STUDENT_DOCS.get(fn.__name__))
              for fn in to_write]
    return "".join(parts).replace("\n\n\n\n", "\n\n\n")


def test_list(tests):
    """The graded tests as Markdown lines: points, name, hidden ones marked."""
    lines = ["### The tests", ""]
    for test in tests:
        hidden = " (hidden: run when your instructor grades)" if getattr(test, "hidden", False) else ""
        lines.append(f"- {test.points:g} pt: {test.name}{hidden}")
    return lines


def _summary(fn):
    """The first paragraph of fn's docstring on one line (a first line alone can stop mid-sentence)."""
    paragraph = (fn.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(line.strip() for line in paragraph.splitlines())


def readme(assignment, stub=None, tests=None):
    """README.md of an assignment: the functions, their shapes, the conventions, how it is graded
    (with the list of its tests, when ``tests`` is given)."""
    stub = set(stub or assignment.function_names)
    lines = [f"# Assignment `{assignment.name}`: {assignment.title}", "",
             f"Write these functions in `{assignment.name}.py`, with exactly these names and signatures "
             "(those of `minizf.functional`, so your code can replace the library's):", ""]
    for fn in assignment.functions:
        if fn.__name__ in stub:
            lines.append(f"- `{fn.__name__}{source.signature(fn)}`: {_summary(fn)}")
    given = [fn.__name__ for fn in assignment.functions if fn.__name__ not in stub]
    if given:
        lines += ["", f"Given, already written in the file: {', '.join(f'`{g}`' for g in given)}."]
    lines += ["", texts.CONVENTIONS[assignment.name].strip(), "", texts.GRADING.strip(), ""]
    gated = [fn for test in tests or () if getattr(test, "gate", False) for fn in test.functions]
    if gated:
        lines += [texts.AT_SCALE.strip().replace("{functions}", ", ".join(f"`{fn}`" for fn in gated)), ""]
    if tests:
        lines += test_list(tests) + [""]
    return "\n".join(lines).replace("{name}", assignment.name)


def walkthrough(assignment):
    """NAME_walkthrough.py: ``# %%`` cells that import the student file and try each function."""
    return texts.WALK_HEAD.replace("{name}", assignment.name) + assignment.walkthrough


def make(name, out=".", solution=False, force=False, stub=None, course_text=None, tests=None, fmt="py"):
    """Write OUT/NAME/{NAME.py, README.md, NAME_walkthrough.py} (``fmt="ipynb"``: NAME.ipynb, the
    functions and the walkthrough in one notebook, and README.md); returns the folder.

    ``stub`` chooses the functions to write (the rest are handed out solved); ``course_text``,
    the course file's table for this assignment, is written beside them as course.toml; ``tests``
    (the suite as the course grades it) is listed in the README. An
    existing NAME.py is never overwritten without ``force``: it may hold a student's work.
    """
    assignment = get(name)
    if fmt not in ("py", "ipynb"):
        raise ValueError(f"--format {fmt}: expected py or ipynb")
    folder = Path(out) / name
    text = student_source(assignment, solution, stub)
    files = {}
    if fmt == "ipynb":                          # one notebook: the graded cells, then the walkthrough
        from .notebook import dumps, student_notebook
        files[f"{name}.ipynb"] = dumps(student_notebook(name, text, walkthrough(assignment)))
    else:
        files[f"{name}.py"] = text
        files[f"{name}_walkthrough.py"] = walkthrough(assignment)
    files["README.md"] = readme(assignment, stub, tests)
    if course_text:
        files["course.toml"] = course_text
    _check_replaceable(folder, files, force)
    folder.mkdir(parents=True, exist_ok=True)
    for filename, content in files.items():
        save_text_atomic(folder / filename, content)
    return folder


def _check_replaceable(folder, files, force):
    """Refuse, before writing anything, to replace a file whose text is not what minizf writes now:
    a student may have edited the README or the walkthrough as much as NAME.py."""
    edited = []
    for filename, content in files.items():
        path = folder / filename
        if os.path.lexists(path):
            try:
                same = path.read_text(encoding="utf-8") == content
            except (OSError, UnicodeDecodeError):
                same = False
            if not same:
                edited.append(str(path))
    if edited and not force:
        raise ValueError(f"{', '.join(edited)} already exist{'s' if len(edited) == 1 else ''} and differ from what "
                         "minizf writes (a student's work?); use --force to replace them")
