"""Assignments as Jupyter notebooks, and the graded code read back out of one.

``student_notebook`` lays an assignment out as one notebook (nbformat 4,
written as plain JSON: no extra package needed to make one): the file's
header and the helpers handed out, then one cell per function to write, all
tagged ``minizf`` (the graded cells), followed by the walkthrough's cells
(untagged), which call the functions defined above.

``graded_source`` is the grader's side: the code of the tagged cells of a
handed-in notebook, joined in order, as the text of NAME.py. A student who
writes a helper in a new cell and forgets to tag it is not failed for it: an
untagged cell that only defines functions (and imports), one of which the
graded code uses and none of which it defines itself, is taken too, in its
place. Nothing else of the
notebook is run or trusted: other untagged cells, outputs and metadata are
ignored, and a file that is not a notebook is one error naming it.
"""
import ast
import json
import re

# dumps and code_cell are used through this module too (assignments, the tests)
from ..notebooks import code_cell, dumps, markdown_cell, notebook, percent_cells  # noqa: F401

TAG = "minizf"


def student_notebook(name, source_text, walkthrough_text):
    """The notebook of an assignment: graded cells cut from NAME.py's text, then the walkthrough."""
    parts = re.split(r"^(?=# ---- )", source_text, flags=re.M)
    cells = [markdown_cell(f"# Assignment `{name}`\n\nWrite each function in its cell (the cells tagged "
                           f"`{TAG}` are graded; keep their names and signatures). Run the walkthrough "
                           f"below as you go, then hand in this notebook: `minizf grade {name}.ipynb`.")]
    for part in parts:
        for piece in re.split(r"\n(?=def )", part):
            if piece.strip():
                cells.append(code_cell(piece, tagged=True, tag=TAG))
    walk = walkthrough_text.replace(f"import {name} as hw  # noqa: E402  (your file)",
                                    "hw = sys.modules[__name__]  # the functions defined above")
    walk = walk.replace('HERE = os.path.dirname(os.path.abspath(__file__)) if "__file__" in globals() '
                        'else os.getcwd()\nsys.path.insert(0, HERE)\n', "")
    return notebook(cells + percent_cells(walk))


def _cells(data, path):
    """[(tagged, source)] of a notebook's code cells; ValueError naming path for what is not one."""
    try:
        nb = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError(f"{path}: not a notebook (not JSON)") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise ValueError(f"{path}: not a notebook (no list of cells)")
    found = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", []) if isinstance(cell.get("metadata"), dict) else []
        tagged = isinstance(tags, list) and TAG in tags
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            if tagged:
                raise ValueError(f"{path}: a graded cell whose source is not text")
            continue
        found.append((tagged, source.rstrip("\n") + "\n"))
    return found


def _helpers(source):
    """Names of the functions an untagged cell defines, when it does nothing else (defs and imports)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    if not tree.body or not all(isinstance(n, (ast.FunctionDef, ast.Import, ast.ImportFrom)) for n in tree.body):
        return set()
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def _names(sources):
    """(names the code reads, names its top level defines) over some cells' sources."""
    used, defined = set(), set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        used |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                defined |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                defined |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return used, defined


def graded_source(data, path):
    """NAME.py's text from a notebook's bytes: the tagged code cells, and the untagged cells of helper
    functions they use, in order; ValueError naming path."""
    cells = _cells(data, path)
    if not any(tagged for tagged, _ in cells):
        raise ValueError(f"{path}: no cell tagged '{TAG}' (the graded cells of the handed-out notebook)")
    keep = {i for i, (tagged, _) in enumerate(cells) if tagged}
    grew = True
    while grew:                              # helpers of helpers: until nothing more is needed
        used, defined = _names(cells[i][1] for i in keep)
        missing = used - defined
        more = {i for i, (tagged, source) in enumerate(cells) if i not in keep
                for helpers in [_helpers(source)] if helpers & missing and not helpers & defined}
        keep |= more
        grew = bool(more)
    return "\n\n".join(cells[i][1] for i in sorted(keep))
