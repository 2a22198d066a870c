"""Assignments as Jupyter notebooks, and the graded code read back out of one.

``student_notebook`` lays an assignment out as one notebook (nbformat 4,
written as plain JSON: no extra package needed to make one): the file's
header and the helpers handed out, then one cell per function to write, all
tagged ``minizf`` (the graded cells), followed by the walkthrough's cells
(untagged), which call the functions defined above.

``graded_source`` is the grader's side: the code of the tagged cells of a
handed-in notebook, joined in order, as the text of NAME.py. Nothing else of
the notebook is run or trusted: untagged cells, outputs and metadata are
ignored, and a file that is not a notebook is one error naming it.
"""
import json
import re

TAG = "minizf"


def _lines(text):
    """A cell's source as nbformat stores it: lines that keep their newlines."""
    return text.splitlines(keepends=True)


def code_cell(text, tagged=False):
    return {"cell_type": "code", "execution_count": None, "metadata": {"tags": [TAG]} if tagged else {},
            "outputs": [], "source": _lines(text.strip("\n"))}


def markdown_cell(text):
    return {"cell_type": "markdown", "metadata": {}, "source": _lines(text.strip("\n"))}


def notebook(cells):
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                                         "name": "python3"},
                                          "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 4}


def percent_cells(text):
    """The cells of a ``# %%`` script: markdown cells lose their '# ' prefixes."""
    cells = []
    for chunk in re.split(r"^# %%", text, flags=re.M)[1:]:
        head, _, body = chunk.partition("\n")
        if "[markdown]" in head:
            cells.append(markdown_cell("\n".join(line[2:] if line.startswith("# ") else line.lstrip("#")
                                                 for line in body.strip("\n").splitlines())))
        elif body.strip():
            cells.append(code_cell(body))
    return cells


def student_notebook(name, source_text, walkthrough_text):
    """The notebook of an assignment: graded cells cut from NAME.py's text, then the walkthrough."""
    parts = re.split(r"^(?=# ---- )", source_text, flags=re.M)
    cells = [markdown_cell(f"# Assignment `{name}`\n\nWrite each function in its cell (the cells tagged "
                           f"`{TAG}` are graded; keep their names and signatures). Run the walkthrough "
                           f"below as you go, then hand in this notebook: `minizf grade {name}.ipynb`.")]
    for part in parts:
        for piece in re.split(r"\n(?=def )", part):
            if piece.strip():
                cells.append(code_cell(piece, tagged=True))
    walk = walkthrough_text.replace(f"import {name} as hw  # noqa: E402  (your file)",
                                    "hw = sys.modules[__name__]  # the functions defined above")
    walk = walk.replace('HERE = os.path.dirname(os.path.abspath(__file__)) if "__file__" in globals() '
                        'else os.getcwd()\nsys.path.insert(0, HERE)\n', "")
    return notebook(cells + percent_cells(walk))


def dumps(nb):
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def graded_source(data, path):
    """NAME.py's text from a notebook's bytes: the tagged code cells, in order; ValueError naming path."""
    try:
        nb = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError(f"{path}: not a notebook (not JSON)") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise ValueError(f"{path}: not a notebook (no list of cells)")
    code = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", []) if isinstance(cell.get("metadata"), dict) else []
        if not isinstance(tags, list) or TAG not in tags:
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise ValueError(f"{path}: a graded cell whose source is not text")
        code.append(source.rstrip("\n") + "\n")
    if not code:
        raise ValueError(f"{path}: no cell tagged '{TAG}' (the graded cells of the handed-out notebook)")
    return "\n\n".join(code)
