"""The messages between the grader and the student's process, and the grader's distrust of them.

A message is two lengths (8 bytes each), a JSON header, then the raw bytes
of its arrays, one after the other::

    <header length> <payload length> {"meta": ..., "arrays": [{"dtype": "<f8", "shape": [2, 3]}]} <bytes>

Nothing in it can run code: arrays are rebuilt with ``np.frombuffer`` from a
short list of numeric dtypes, never unpickled. The student's side can write
anything on its pipe (its code shares the process with ``worker.py``), so the
grader checks every message before it uses it: sizes first, then the header's
form, then every node of the value it describes (``decode``). A message that
fails a check raises ``Malformed``; the grader turns that into a failed test.

Both sides import this file, so it imports nothing from minizf, on purpose:
inside the sandbox it is the only file of minizf's there is.
"""
import json
import os
import struct

import numpy as np

MAX_HEADER = 1 << 20            # bytes of JSON: values are small, arrays travel as bytes
MAX_DEPTH = 8                   # nesting of tuples and lists in a value
MAX_ITEMS = 256                 # entries of one tuple or list
MAX_TEXT = 4000                 # characters of a string in a value
#: The dtypes an array may travel as: booleans, integers and floats, native byte order.
DTYPES = {np.dtype(t).str for t in (bool, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
                                    np.uint32, np.uint64, np.float16, np.float32, np.float64)}


class Malformed(ValueError):
    """A message that breaks the protocol: too large, not JSON, or describing something else."""


# ---- values <-> JSON nodes with arrays beside them ------------------------------------------

def encode(value, arrays):
    """A JSON-able description of value; its arrays are appended to ``arrays``.

    Raises TypeError for what cannot travel: arrays of objects, strings or complex numbers.
    """
    if value is None or isinstance(value, (bool, str)):
        return {"v": value}
    if isinstance(value, (int, float)) and not isinstance(value, np.generic):
        return {"v": value}
    if isinstance(value, (np.ndarray, np.generic)):
        a = np.asarray(value)
        native = a.astype(a.dtype.newbyteorder("=")) if a.dtype.byteorder not in "=|" else a
        if native.dtype.str not in DTYPES:
            raise TypeError(f"an array of {a.dtype} (only booleans, integers and floats travel)")
        arrays.append(np.ascontiguousarray(native))
        return {"array": len(arrays) - 1, "scalar": isinstance(value, np.generic)}
    if isinstance(value, (tuple, list)):
        return {"seq": [encode(v, arrays) for v in value], "tuple": isinstance(value, tuple)}
    if isinstance(value, dict) and set(value) == {"rng"}:
        return {"rng": int(value["rng"])}
    return {"unsupported": type(value).__name__[:100]}


class Unsupported:
    """Stands for a returned value of a type that cannot travel (a dict, a generator, an object)."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"<a {self.type_name}>"


def decode(node, arrays, depth=0):
    """The value a node describes, every part checked; Malformed when it is not one we sent or expect."""
    if not isinstance(node, dict) or len(node) > 2 or depth > MAX_DEPTH:
        raise Malformed("a value of the wrong form")
    if set(node) == {"v"}:
        v = node["v"]
        if v is None or isinstance(v, (bool, int, float)) or isinstance(v, str) and len(v) <= MAX_TEXT:
            return v
    elif set(node) == {"array", "scalar"} and _index(node["array"], arrays):
        a = arrays[node["array"]]
        return a[()] if node["scalar"] is True and a.ndim == 0 else a
    elif set(node) == {"seq", "tuple"} and isinstance(node["seq"], list) and len(node["seq"]) <= MAX_ITEMS:
        items = [decode(v, arrays, depth + 1) for v in node["seq"]]
        return tuple(items) if node["tuple"] is True else items
    elif set(node) == {"rng"} and type(node["rng"]) is int and 0 <= node["rng"] < 2**63:
        return np.random.default_rng(node["rng"])
    elif set(node) == {"unsupported"} and isinstance(node["unsupported"], str):
        return Unsupported(node["unsupported"][:100])
    raise Malformed("a value of the wrong form")


def _index(i, seq):
    return type(i) is int and 0 <= i < len(seq)


# ---- framing ----------------------------------------------------------------------------------

def send(fd, meta, arrays=()):
    """Write one message (meta: JSON-able) with its arrays to the file descriptor fd."""
    arrays = [np.ascontiguousarray(a) for a in arrays]
    header = json.dumps({"meta": meta, "arrays": [{"dtype": a.dtype.str, "shape": list(a.shape)}
                                                  for a in arrays]}).encode()
    write_all(fd, struct.pack("<QQ", len(header), sum(a.nbytes for a in arrays)) + header)
    for a in arrays:
        write_all(fd, memoryview(a).cast("B") if a.nbytes else b"")


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def receive(read, max_payload):
    """(meta, arrays) of the next message, read with ``read(n)`` (exactly n bytes); checked throughout."""
    header_size, payload_size = struct.unpack("<QQ", read(16))
    if header_size > MAX_HEADER or payload_size > max_payload:
        raise Malformed(f"a message of {header_size + payload_size} bytes (at most {MAX_HEADER + max_payload})")
    try:
        header = json.loads(read(header_size).decode("utf-8"))
    except (ValueError, RecursionError):
        raise Malformed("a message that is not JSON") from None
    if not isinstance(header, dict) or set(header) != {"meta", "arrays"} or not isinstance(header["meta"], dict) \
            or not isinstance(header["arrays"], list):
        raise Malformed("a message of the wrong form")
    specs = [_array_spec(s) for s in header["arrays"]]
    if sum(n for _, _, n in specs) != payload_size:
        raise Malformed("a message whose arrays do not add up to its length")
    arrays = [np.frombuffer(bytearray(read(n)), dtype=dtype).reshape(shape) for dtype, shape, n in specs]
    return header["meta"], arrays


def _array_spec(spec):
    """(dtype, shape, bytes) of one array's description."""
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape"} or spec["dtype"] not in DTYPES \
            or not isinstance(spec["shape"], list) or len(spec["shape"]) > 8 \
            or not all(type(d) is int and 0 <= d < 2**40 for d in spec["shape"]):
        raise Malformed("an array of the wrong form")
    dtype = np.dtype(spec["dtype"])
    return dtype, tuple(spec["shape"]), int(np.prod(spec["shape"], dtype=object)) * dtype.itemsize


def reader(fd):
    """read(n) for a blocking file descriptor: exactly n bytes, EOFError when the other side closed."""
    def read(n):
        chunks = []
        while n:
            part = os.read(fd, min(n, 1 << 20))
            if not part:
                raise EOFError("the other side closed the pipe")
            chunks.append(part)
            n -= len(part)
        return b"".join(chunks)
    return read
