"""Assignment files cut from the library's own source.

A student file keeps each function's signature and docstring and replaces
its body with ``raise NotImplementedError`` between ``# BEGIN YOUR CODE`` and
``# END YOUR CODE``. The solution file keeps the body: the very code the
library's tests prove right, so an assignment can never drift from it.

The library's bodies call helpers (``window_grid``, ``pad_hw``, ...); the
solution carries every helper they reach, found by walking the names each
function's source uses. Two kinds of helper are replaced by plain stand-ins
(``STAND_INS``): the array-module lookup (a solution runs on NumPy) and the
batch-splitting of ``functional.chunks``, which runs a function on a few images
at a time on every core. Run once on the whole batch, each of those gives the
same numbers, so the stand-in keeps the math and drops the threads.
"""
import ast
import inspect
import textwrap

BEGIN, END = "# BEGIN YOUR CODE", "# END YOUR CODE"

# Serial versions of minizf's array-module and threading helpers (same results, one thread).
STAND_INS = {
    "get_array_module": '''
def get_array_module(*arrays):
    """The array module of the inputs: NumPy here (minizf's own also returns CuPy on a GPU)."""
    return np
''',
    "scatter_add": '''
def scatter_add(target, indices, values):
    """target[indices] += values, adding repeated indices (in place; returns target)."""
    np.add.at(target, indices, values)
    return target
''',
    "over_batch_chunks": '''
def over_batch_chunks(fn, *arrays):
    """fn(*arrays): minizf runs it on a few images at a time on every core, with the same result."""
    return fn(*arrays)
''',
    "for_batch_chunks": '''
def for_batch_chunks(fn, n, bytes_per_item, xp=np):
    """fn(slice(0, n)): minizf calls fn on cache-sized slices on every core, with the same result."""
    fn(slice(0, n))
''',
    "over_shares": '''
def over_shares(fn, n, xp=np):
    """[fn(slice(0, n))]: minizf gives each core a share of the batch and lists their results."""
    return [fn(slice(0, n))]
''',
    "add_shares": '''
def add_shares(shares):
    """Element-wise sums over the shares' results: [(a1, b1), (a2, b2)] -> (a1 + a2, b1 + b2)."""
    return tuple(sum(parts[1:], parts[0]) for parts in zip(*shares))
''',
    "_chunk_shares": '''
def _chunk_shares(fn, x_shape, kernel_size, stride, pad, itemsize, xp):
    """[fn([slice(0, N)])]: minizf cuts the batch into cache-sized chunks shared by the cores."""
    return [fn([slice(0, x_shape[0])])]
''',
}


def _definition(fn):
    """The ast.FunctionDef of a function and its dedented source lines."""
    lines = textwrap.dedent(inspect.getsource(fn)).splitlines()
    node = ast.parse("\n".join(lines)).body[0]
    if not isinstance(node, ast.FunctionDef):
        raise TypeError(f"{fn.__qualname__} is not a plain function")
    return node, lines


def _body_start(node):
    """Index (0-based line) where the body starts after the docstring."""
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        if len(body) == 1:
            raise ValueError(f"{node.name} has a docstring and no body")
        return body[1].lineno - 1
    return body[0].lineno - 1


def function_text(fn, solution, doc=None):
    """The source of ``fn`` with its body between the markers: the body itself, or a stub.

    ``doc`` (a student's file only) replaces the library's docstring: the contract without the
    derivation the library's docstring may spell out.
    """
    node, lines = _definition(fn)
    start = _body_start(node)
    head, body = lines[:start], lines[start:node.end_lineno]
    indent = " " * node.body[-1].col_offset
    if doc and not solution:
        signature_end = node.body[0].lineno - 1            # the docstring's first line
        doc_lines = doc.strip().splitlines()
        head = head[:signature_end] + [f'{indent}"""{doc_lines[0]}'] + \
            [f"{indent}{line}" if line else "" for line in doc_lines[1:]] + [f'{indent}"""']
        if len(doc_lines) == 1:
            head = head[:-2] + [f'{indent}"""{doc_lines[0]}"""']
    inside = body if solution else [f'{indent}raise NotImplementedError("{node.name}: write this function")']
    return "\n".join(head + [indent + BEGIN] + inside + [indent + END]) + "\n"


def plain_text(fn):
    """The source of a helper as it is."""
    return textwrap.dedent(inspect.getsource(fn))


def _names_used(fn):
    node, _ = _definition(fn)
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | \
           {n.value.id for n in ast.walk(node) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}


def helpers(functions, given=()):
    """Names and sources of the helpers ``functions`` reach, in first-use order.

    A helper is a minizf function the code calls by name (directly or through
    another helper). Stand-ins replace the array-module and threading helpers;
    ``given`` helpers (printed elsewhere in the file) and the functions
    themselves are left out.
    """
    skip = {fn.__name__ for fn in functions} | {fn.__name__ for fn in given}
    found, order = {}, []

    def visit(fn):
        for name in sorted(_names_used(fn)):
            if name in skip or name in found:
                continue
            value = fn.__globals__.get(name)
            if name in STAND_INS:
                found[name] = STAND_INS[name].strip() + "\n"
                order.append(name)
            elif inspect.isfunction(value) and value.__module__.startswith("minizf"):
                found[name] = plain_text(value)
                order.append(name)
                visit(value)
    for fn in functions:
        visit(fn)
    for fn in given:
        visit(fn)
    return [(name, found[name]) for name in order]


def signature(fn):
    """``(x, kernel_size, stride=1, pad=0)``: the parameter list as written in the library."""
    return str(inspect.signature(fn))
