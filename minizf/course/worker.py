"""The process a student's code runs in: import the file, then answer the grader's calls.

The grader starts this file as a script inside the sandbox::

    python -I -S -B worker.py STUDENT.py IN_FD OUT_FD [--site DIR] [--nproc N]

never as ``minizf.course.worker``: the process holds NumPy (from ``--site``, the
one package bound into the sandbox), ``protocol.py`` beside this file, and the
student's module; not minizf's reference code, not its numerical gradients.
Imports of minizf and torch are refused with a message saying why (inside the
sandbox they are not there at all; the refusal is for the message, and for
``--sandbox none``).

Before anything else (before NumPy, before the student's file) it reads a
seccomp program from IN_FD (8 bytes of length, then the BPF that the grader
compiled, ``seccomp.program``) and installs it on itself, and makes itself
non-dumpable (no other process of its user may read its memory or files
through /proc); then it says ``{"confined": true}`` and goes on. Until that
message the process runs only this file, so the grader can believe it.

Nothing here is trusted by the grader: the student's code shares this
process and can write on the pipe itself. The grader checks every message.

This module imports nothing from minizf, on purpose.
"""
import importlib.abc
import importlib.util
import os
import sys
import traceback

#: Top-level packages a submission may not import.
BLOCKED = ("minizf", "torch", "torchvision", "tensorflow", "jax")


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
    try:
        message = str(exc)[:500]
    except BaseException:                   # noqa: BLE001 - a __str__ that raises
        message = "(its message could not be read)"
    return {"error": type(exc).__name__[:100], "message": message, "where": _where(exc, student_file)}


def _changed(before, after):
    import numpy as np
    return before.shape != after.shape or not np.array_equal(before, after, equal_nan=before.dtype.kind in "fc")


def _load(student_file):
    spec = importlib.util.spec_from_file_location("submission", student_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _answer(module, meta, arrays, student_file):
    """The reply to one call: its result, or the error it raised."""
    import numpy as np
    args = [protocol.decode(a, arrays) for a in meta["args"]]
    kwargs = {k: protocol.decode(v, arrays) for k, v in meta["kwargs"].items()}
    fn = getattr(module, meta["call"], None)
    if not callable(fn):
        return {"error": "Missing", "message": f"the file defines no function {meta['call']}", "where": None}, []
    copies = [a.copy() if isinstance(a, np.ndarray) else None for a in args]
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        return _error(exc, student_file), []
    smuggled = sorted({name.split(".")[0] for name in sys.modules} & set(BLOCKED))
    if smuggled:                            # the import block was taken down: nothing from here counts
        return {"error": "ImportError", "message": f"importing {smuggled[0]} is not allowed in a "
                "submission (the point is to write the code yourself)", "where": None}, []
    mutated = [i for i, (a, c) in enumerate(zip(args, copies)) if c is not None and _changed(c, a)]
    out = []
    try:
        return {"result": protocol.encode(result, out), "mutated": mutated}, out
    except Exception as exc:                # e.g. an array of objects
        return {"error": "BadResult", "message": f"returned something that cannot be read back as "
                f"numbers ({exc})", "where": None}, []


def serve(student_file, fd_in, fd_out):
    """Import the student's file, then answer calls until the grader closes the pipe."""
    sys.meta_path.insert(0, Refuse())
    for name in list(sys.modules):
        if name.split(".")[0] in BLOCKED:
            del sys.modules[name]
    try:
        module = _load(student_file)
    except BaseException as exc:            # a syntax error, a refused import, anything at import
        protocol.send(fd_out, {"ready": False, **_error(exc, student_file)})
        return
    protocol.send(fd_out, {"ready": True})
    read = protocol.reader(fd_in)
    while True:
        try:
            meta, arrays = protocol.receive(read, 1 << 40)
        except EOFError:
            return
        protocol.send(fd_out, *_answer(module, meta, arrays, student_file))


def _read_exact(fd, n):
    data = b""
    while len(data) < n:
        part = os.read(fd, n - len(data))
        if not part:
            raise EOFError("the grader closed the pipe")
        data += part
    return data


def confine(fd):
    """Install the seccomp program the grader sends on fd (none when it sends 0 bytes); None when done,
    else why not (one line)."""
    import ctypes
    import struct
    PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 4, 38, 22, 2

    class SockFprog(ctypes.Structure):                  # struct sock_fprog: instruction count, pointer
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    try:
        size = struct.unpack("<Q", _read_exact(fd, 8))[0]
        if size == 0:                                    # --sandbox none where there is no seccomp
            return None
        if not 8 <= size <= 1 << 20 or size % 8:
            return f"the grader sent a filter of {size} bytes"
        code = ctypes.create_string_buffer(_read_exact(fd, size), size)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        prog = SockFprog(size // 8, ctypes.addressof(code))
        for option, arg in ((PR_SET_DUMPABLE, 0), (PR_SET_NO_NEW_PRIVS, 1)):
            if libc.prctl(option, arg, 0, 0, 0) != 0:
                return f"prctl({option}) failed: {os.strerror(ctypes.get_errno())}"
        if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0) != 0:
            return f"the kernel refused the seccomp filter: {os.strerror(ctypes.get_errno())}"
    except (OSError, EOFError, AttributeError) as exc:
        return f"could not install the seccomp filter ({exc})"
    return None


def _limit_processes(n):
    """No more than n processes of this user inside the sandbox (a second guard beside seccomp)."""
    import resource
    resource.setrlimit(resource.RLIMIT_NPROC, (n, n))


if __name__ == "__main__":
    sys.path[:0] = [os.path.dirname(os.path.abspath(__file__))]
    argv = sys.argv[1:]
    options = dict(zip(argv[3::2], argv[4::2]))
    fd_in, fd_out = int(argv[1]), int(argv[2])
    failed = confine(fd_in)                  # before NumPy and the student's file: nothing else runs yet
    if "--site" in options:
        sys.path.insert(0, options["--site"])
    import protocol                          # noqa: E402 - found beside this file, after the path is set
    protocol.send(fd_out, {"confined": failed is None, "why": failed or ""})
    if failed:
        sys.exit(3)
    if "--nproc" in options:
        _limit_processes(int(options["--nproc"]))
    serve(os.path.abspath(argv[0]), fd_in, fd_out)
