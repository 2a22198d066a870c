"""Notebooks from ``# %%`` scripts, written as plain nbformat 4 JSON (no package needed to make one).

The lessons and the assignments are percent-format scripts: ``# %%`` starts a code cell,
``# %% [markdown]`` a markdown cell whose lines lose their ``# ``. ``percent_cells`` reads
one into cells; ``notebook`` and ``dumps`` make the file Jupyter opens; ``code_of`` reads the
code cells of a notebook back as one script.
"""
import json
import re


def _lines(text):
    """A cell's source as nbformat stores it: lines that keep their newlines."""
    return text.splitlines(keepends=True)


def code_cell(text, tagged=False, tag="minizf"):
    """A code cell; tagged: with ``tag`` in its metadata (the cells a grader reads)."""
    return {"cell_type": "code", "execution_count": None, "metadata": {"tags": [tag]} if tagged else {},
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


def dumps(nb):
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def code_of(data):
    """The code cells of a notebook (its parsed JSON), joined as one script; a ValueError when it is
    not a notebook."""
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        raise ValueError("not a Jupyter notebook (no list of cells)")
    code = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            code.append("".join(source) if isinstance(source, list) else str(source))
    return "\n\n".join(f"# %%\n{c}" for c in code) + "\n"
