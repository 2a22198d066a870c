"""The student's process seen from the grader: start it in the sandbox, call its functions, distrust it.

``StudentProcess(text, name, mode)`` starts ``worker.py`` on a copy of the
student's file in the sandbox (``sandbox.start``); ``call(name, *args)``
sends the arguments, waits at most until the current deadline (wall clock,
so a stopped or sleeping process times out too), checks the answer
(``protocol.receive`` and ``decode``) and returns the value, or raises
StudentError with a sentence for the report. A timeout, a crash or a broken
message kills the whole sandbox; the next call starts a fresh one.
"""
import os
import select
import struct
import time

from . import protocol, sandbox
from .outcome import StudentError

MAX_PAYLOAD = 64 << 20          # bytes of arrays in one answer: far more than any graded input needs
START_TIME = 10.0               # seconds to start Python and import NumPy in the sandbox
ENDED = "the student's process ended (crashed, called exit or ran out of memory)"


class StudentProcess:
    """A running worker on one student file; ``call(name, *args)`` runs one function there."""

    def __init__(self, text, name, mode="bwrap", time_limit=30.0, limits=sandbox.LIMITS):
        self.text, self.name, self.mode = text, name, mode
        self.time_limit, self.limits = time_limit, limits
        self.budget = time_limit            # seconds of wall clock for the test under way
        self.started = None
        self.import_error = None
        self.deadline = None
        self.start()

    def start(self):
        to_child, self._w = os.pipe()
        self._r, from_child = os.pipe()
        try:
            self.started = sandbox.start(self.text, self.name, to_child, from_child, self.mode, self.limits)
        finally:
            os.close(to_child)
            os.close(from_child)
        self.deadline = time.monotonic() + max(self.time_limit, START_TIME)
        self._confine()
        try:
            hello = self._receive()[0]
        except StudentError as err:          # the file hangs or exits while it is imported
            self.import_error = f"importing it {err}"
            self.close()
            return
        self.import_error = None if hello.get("ready") is True else explain(hello)
        self.deadline = time.monotonic() + self.budget

    def _confine(self):
        """Send the worker its seccomp filter and wait for its word that it is installed.

        Until that word the worker has run only worker.py (the student's file is imported after
        it), so the answer can be believed; a worker that cannot install it stops grading.
        """
        program = sandbox.filter_for(self.mode, self.started)
        try:
            protocol.write_all(self._w, struct.pack("<Q", len(program)) + program)
            said = self._receive()[0]
        except (OSError, StudentError) as exc:
            self.close()
            raise sandbox.Unavailable(f"the sandbox's worker did not start ({exc})") from None
        if said.get("confined") is not True:
            self.close()
            raise sandbox.Unavailable(f"the sandbox's seccomp filter could not be installed: {said.get('why')}")

    def tidy(self):
        """After a test: end whatever else the student's code left running (the worker goes on)."""
        if self.running():
            self.started.tidy()

    def begin_test(self, seconds):
        """Start the wall clock of one test: every call until the next begin_test shares it."""
        self.budget = seconds
        self.deadline = time.monotonic() + seconds

    def running(self):
        return self.started is not None and self.started.alive()

    def close(self):
        """End the sandbox and every process in it."""
        if self.started is not None:
            for fd in (self._w, self._r):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.started.kill()
            self.started = None

    def restart(self):
        self.close()
        self.start()

    def _read(self, n):
        chunks = []
        while n:
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([self._r], [], [], left)[0]:
                raise TimeoutError
            part = os.read(self._r, min(n, 1 << 20))
            if not part:
                raise StudentError(ENDED)
            chunks.append(part)
            n -= len(part)
        return b"".join(chunks)

    def _receive(self):
        try:
            meta, arrays = protocol.receive(self._read, MAX_PAYLOAD)
        except TimeoutError:
            raise StudentError(f"timed out after {self.budget:g} s") from None
        except protocol.Malformed as exc:
            raise StudentError(f"sent a malformed message ({exc})") from None
        return meta, arrays

    def call(self, name, *args, **kwargs):
        """The student's ``name(*args, **kwargs)``; StudentError if it raised, ran too long or sent nonsense."""
        if not self.running():
            self.restart()
            if self.import_error:
                raise StudentError(f"the file does not import: {self.import_error}")
        arrays = []
        meta = {"call": name, "args": [protocol.encode(a, arrays) for a in args],
                "kwargs": {k: protocol.encode(v, arrays) for k, v in kwargs.items()}}
        try:
            protocol.send(self._w, meta, arrays)
            answer, out = self._receive()
        except OSError:                      # the pipe broke: the process is gone
            self.close()
            raise StudentError(ENDED) from None
        except StudentError:
            self.close()
            raise
        return self._value(name, answer, out)

    def _value(self, name, answer, out):
        if "error" in answer:
            raise StudentError(explain(answer, name))
        if set(answer) != {"result", "mutated"} or not isinstance(answer["mutated"], list) \
                or not all(type(i) is int for i in answer["mutated"]):
            self.close()                         # what follows on the pipe can no longer be matched to calls
            raise StudentError("sent a malformed message (not an answer)")
        if answer["mutated"]:
            which = ", ".join(f"argument {i + 1}" for i in answer["mutated"][:8])
            raise StudentError(f"{name} changed its input in place ({which}); return new arrays instead")
        try:
            return protocol.decode(answer["result"], out)
        except protocol.Malformed as exc:
            self.close()
            raise StudentError(f"sent a malformed message ({exc})") from None


def explain(answer, name=None):
    """One sentence for an error the student's code raised (its text is the student's: plain strings only)."""
    def text(key):
        value = answer.get(key)
        return value[:500] if isinstance(value, str) else ""
    error, message, where = text("error"), text("message"), text("where")
    if error == "NotImplementedError":
        return f"{name or 'the file'} is not written yet (NotImplementedError)"
    if error == "ImportError" and "not allowed" in message:
        said = f"{message}: no points for code that uses the library or torch"
    else:
        said = f"{name + ' ' if name else ''}raised {error or 'an error'}: {message}"
    if error == "NameError":                 # a notebook's helper in a cell that does more than define it
        said += " (in a notebook: tag the cell that defines it 'minizf', or move it into a graded cell)"
    return said + (f"  [at {where}]" if where else "")


class Student:
    """``student.conv2d(x, W)`` calls the student's conv2d in the sandbox."""

    def __init__(self, process):
        self._process = process

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._process.call(name, *args, **kwargs)
