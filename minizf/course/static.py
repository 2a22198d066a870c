"""What the grader reads in a submission before running it: code that reaches for the answer, and provenance.

``forbidden(source)`` finds imports of the library and the usual detours
around the import block (``importlib``, ``__import__``, ``exec``, ``eval``,
``compile``, ``sys.meta_path``): the tests of that function score 0 with the
line named. It judges code, never prose: a string, comment or docstring that
names torch or minizf costs nothing (an error message may say "as torch
expects"); ``mentions(source)`` lists such strings for the instructor's notes.
It is one pass over the syntax tree, and the file it reads is capped in size
first (``sandbox.LIMITS.submission``), so its cost is bounded.

``provenance(source, key)`` answers a different question. The answer key is
minizf's own source, which anyone with the package can read, so secrecy is
not on offer; what the grader can do is *say* when a function's body is the
library's, once names, formatting, comments and docstrings are taken away.
That goes to the instructor in the report, never as a silent zero.
"""
import ast

from .worker import BLOCKED

_FORBIDDEN_CALLS = {"__import__", "exec", "eval", "compile"}
#: Functions shorter than this (syntax-tree nodes) are not compared: a one-line ReLU is everyone's.
MIN_NODES = 40


def _parse(source):
    """The syntax tree, or None for a file Python cannot parse (or one nested past its limits)."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _walk(tree):
    """Every node of the tree, depth first, without recursion (a 1200-term sum is a deep tree)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _offence(node):
    """Why this node reaches around the grader's rules, or None."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            root = alias.name.split(".")[0]
            if root in BLOCKED or root == "importlib":
                return f"imports {alias.name}"
    if isinstance(node, ast.ImportFrom) and node.module:
        root = node.module.split(".")[0]
        if root in BLOCKED or root == "importlib":
            return f"imports from {node.module}"
    if isinstance(node, ast.Name) and node.id in _FORBIDDEN_CALLS:
        return f"uses {node.id}"
    if isinstance(node, ast.Attribute) and (node.attr in ("meta_path", "path_hooks") or node.attr == "modules" and
                                             isinstance(node.value, ast.Name) and node.value.id == "sys"):
        return f"touches sys.{node.attr}"
    return None


def forbidden(source):
    """{function name, or "" for module level: [(line, reason)]} for code that reaches for the library."""
    tree = _parse(source)
    found = {}
    for top in tree.body if tree else ():
        owner = top.name if isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef)) else ""
        for node in _walk(top):
            reason = _offence(node)
            if reason:
                found.setdefault(owner, []).append((node.lineno, reason))
    return found


def _docstrings(tree):
    """ids of the docstring nodes (the first statement of a module, class or function, a string)."""
    found = set()
    for node in _walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def mentions(source):
    """[(line, text)] of the strings, docstrings aside, that name a blocked package: for the instructor's
    notes, never a charge."""
    tree = _parse(source)
    if tree is None:
        return []
    docs = _docstrings(tree)
    return sorted((node.lineno, node.value[:60]) for node in _walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
                  and any(word in node.value for word in BLOCKED))


# ---- provenance ----------------------------------------------------------------------------------

class _Anonymous(ast.NodeTransformer):
    """Renames every variable and argument by order of first appearance and drops docstrings."""

    def __init__(self):
        self.names = {}

    def _name(self, name):
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node):
        node.id = self._name(node.id)
        return node

    def visit_arg(self, node):
        node.arg, node.annotation = self._name(node.arg), None
        return node

    def visit_FunctionDef(self, node):
        node.name, node.returns = "f", None
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            node.body = body[1:] or [ast.Pass()]
        self.generic_visit(node)
        return node


def fingerprints(source):
    """{function name: (normalised syntax tree as text, its size in nodes)} of a file's top-level functions."""
    tree = _parse(source)
    found = {}
    for node in tree.body if tree else ():
        if isinstance(node, ast.FunctionDef):
            name = node.name
            try:
                anonymous = _Anonymous().visit(node)
                found[name] = (ast.dump(anonymous, annotate_fields=False), sum(1 for _ in _walk(anonymous)))
            except RecursionError:              # nested too deep to normalise: it has no fingerprint
                continue
    return found


def provenance(source, key_source, names):
    """The functions among ``names`` whose bodies are the key's after normalisation (large enough to tell)."""
    mine, key = fingerprints(source), fingerprints(key_source)
    return [name for name in names if name in mine and name in key and mine[name][1] >= MIN_NODES
            and mine[name][0] == key[name][0]]
