"""The process a student's code runs in, and the messages it exchanges with the grader.

The grader starts this file as a script (``python -I sandbox.py STUDENT.py IN OUT``),
never as ``minizf.course.sandbox``: the process then holds NumPy and the
student's module, and neither minizf's reference code nor its numerical
gradients. Imports of minizf and torch are refused here, so a submission that
delegates to the library fails with a message saying why.

Messages are NumPy ``.npz`` archives, read with ``allow_pickle=False``: whatever
the student's code returns, nothing it sends can run code in the grader. A
message holds a JSON description (``__meta__``) and the arrays it names.

This module imports nothing from minizf, on purpose.
"""
import importlib.abc
import importlib.util
import io
import json
import os
import struct
import sys
import traceback

import numpy as np

#: Top-level packages a submission may not import.
BLOCKED = ("minizf", "torch", "torchvision", "tensorflow", "jax")


# ---- messages ---------------------------------------------------------------------------

def encode(value, arrays):
    """A JSON-able description of value; its arrays are appended to ``arrays``."""
    if value is None or isinstance(value, (bool, str)):
        return {"v": value}
    if isinstance(value, (int, float)) and not isinstance(value, np.generic):
        return {"v": value}
    if isinstance(value, (np.ndarray, np.generic)):
        if np.asarray(value).dtype.hasobject:
            raise TypeError("an array of Python objects")
        arrays.append(np.asarray(value))
        return {"array": len(arrays) - 1, "scalar": isinstance(value, np.generic)}
    if isinstance(value, (tuple, list)):
        return {"seq": [encode(v, arrays) for v in value], "tuple": isinstance(value, tuple)}
    if isinstance(value, dict) and set(value) == {"rng"}:
        return {"rng": int(value["rng"])}
    return {"unsupported": type(value).__name__}


def decode(node, arrays):
    """The value a description stands for (a seeded Generator for {"rng": seed})."""
    if "v" in node:
        return node["v"]
    if "array" in node:
        a = arrays[node["array"]]
        return a[()] if node.get("scalar") else a
    if "seq" in node:
        items = [decode(v, arrays) for v in node["seq"]]
        return tuple(items) if node.get("tuple") else items
    if "rng" in node:
        return np.random.default_rng(node["rng"])
    return Unsupported(node["unsupported"])


class Unsupported:
    """Stands for a returned value of a type that cannot travel (a dict, a custom object)."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"<a {self.type_name}>"


def send(fd, meta, arrays=()):
    """Write one message: 8-byte length, then an .npz of the JSON meta and the arrays."""
    buf = io.BytesIO()
    named = {f"a{i}": a for i, a in enumerate(arrays)}
    np.savez(buf, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **named)
    data = buf.getvalue()
    os.write(fd, struct.pack("<Q", len(data)))
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def unpack(data):
    """(meta, arrays) of a message's bytes; arrays of objects are refused (no pickle)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        meta = json.loads(bytes(z["__meta__"]).decode())
        arrays = [z[f"a{i}"] for i in range(len(z.files) - 1)]
    return meta, arrays


def read_exactly(fd, n):
    chunks = []
    while n:
        part = os.read(fd, min(n, 1 << 20))
        if not part:
            raise EOFError("the other side closed the pipe")
        chunks.append(part)
        n -= len(part)
    return b"".join(chunks)


# ---- the student's side -----------------------------------------------------------------

class Refuse(importlib.abc.MetaPathFinder):
    """Refuses imports of the blocked packages, however they are asked for."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"importing {name} is not allowed in a submission "
                              "(the point is to write the code yourself)")
        return None


def _where(exc, student_file):
    """The last line of the student's file in the traceback, e.g. 'pool.py:42: y = ...'."""
    here = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.abspath(frame.filename) == student_file:
            here = f"{os.path.basename(frame.filename)}:{frame.lineno}: {frame.line}"
    return here


def _error(exc, student_file):
    return {"error": type(exc).__name__, "message": str(exc)[:500], "where": _where(exc, student_file)}


def _changed(before, after):
    return before.shape != after.shape or not np.array_equal(before, after, equal_nan=before.dtype.kind in "fc")


def serve(student_file, fd_in, fd_out):
    """Import the student's file, then answer calls until the grader closes the pipe."""
    sys.meta_path.insert(0, Refuse())
    for name in list(sys.modules):
        if name.split(".")[0] in BLOCKED:
            del sys.modules[name]
    sys.path.insert(0, os.path.dirname(student_file))
    try:
        spec = importlib.util.spec_from_file_location("submission", student_file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except BaseException as exc:            # a syntax error, a refused import, anything at import
        send(fd_out, {"ready": False, **_error(exc, student_file)})
        return
    send(fd_out, {"ready": True})
    while True:
        try:
            meta, arrays = unpack(read_exactly(fd_in, struct.unpack("<Q", read_exactly(fd_in, 8))[0]))
        except EOFError:
            return
        args = [decode(a, arrays) for a in meta["args"]]
        kwargs = {k: decode(v, arrays) for k, v in meta["kwargs"].items()}
        fn = getattr(module, meta["call"], None)
        if not callable(fn):
            send(fd_out, {"error": "Missing", "message": f"the file defines no function {meta['call']}",
                          "where": None})
            continue
        copies = [a.copy() if isinstance(a, np.ndarray) else None for a in args]
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            send(fd_out, _error(exc, student_file))
            continue
        smuggled = sorted({name.split(".")[0] for name in sys.modules} & set(BLOCKED))
        if smuggled:                        # the import block was taken down: nothing from here counts
            send(fd_out, {"error": "ImportError", "message": f"importing {smuggled[0]} is not allowed in a "
                          "submission (the point is to write the code yourself)", "where": None})
            continue
        mutated = [i for i, (a, c) in enumerate(zip(args, copies)) if c is not None and _changed(c, a)]
        out = []
        try:
            described = encode(result, out)
            send(fd_out, {"result": described, "mutated": mutated}, out)
        except Exception as exc:            # e.g. an array of objects
            send(fd_out, {"error": "BadResult", "message": f"returned something that cannot be "
                          f"read back as numbers ({type(exc).__name__}: {exc})", "where": None})


if __name__ == "__main__":
    serve(os.path.abspath(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
