"""A lesson copied out for a student: its ``# %%`` script, or a notebook made from it."""
import os

from ..io import save_text_atomic
from ..notebooks import dumps, notebook, percent_cells


def lesson_text(lesson, fmt):
    """The file a student gets: the script as shipped (py), or its cells as a notebook (ipynb)."""
    text = lesson.path.read_text(encoding="utf-8")
    return text if fmt == "py" else dumps(notebook(percent_cells(text)))


def hand_out(lesson, out, fmt="py", force=False):
    """Write lesson ``lesson`` into folder ``out`` as NN_name.py or .ipynb; returns the path. A file of
    that name that is not this lesson as shipped (the student's edited copy) is kept unless ``force``."""
    path = os.path.join(out, f"{lesson.name}.{fmt}")
    text = lesson_text(lesson, fmt)
    if os.path.lexists(path) and not force:
        with open(path, encoding="utf-8", errors="replace") as f:
            same = os.path.isfile(path) and f.read() == text
        if not same:
            raise ValueError(f"{path} already exists and is not the lesson as shipped (your copy?); it is "
                             "kept: move it, or add --force to replace it")
    save_text_atomic(path, text)
    return path
