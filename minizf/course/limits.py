"""What every sandbox tier shares: the resource limits, the environment, and the started process.

Each tier (``sandbox.py`` for bubblewrap and none, ``container.py`` for
containers) starts ``worker.py`` differently, but all of them set these
limits before the worker's Python starts, clear the environment to the few
variables below, put the worker in a session (and process group) of its own,
and hand back a ``Started`` whose ``kill()`` ends all of it.
"""
import os
import resource
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What a submission may use; the handout README states them."""
    memory: int = 2 << 30           # bytes of address space (NumPy and its BLAS reserve ~0.5 GiB)
    cpu_seconds: int = 600          # the whole process; each test's wall clock is limited apart
    file_size: int = 16 << 20       # bytes of one file written
    disk: int = 64 << 20            # bytes of the tmpfs at /work (bubblewrap)
    open_files: int = 64
    processes: int = 16             # RLIMIT_NPROC (seccomp refuses new processes anyway)
    submission: int = 1 << 20       # bytes of the submitted file


LIMITS = Limits()


def set_limits(limits=LIMITS):
    """Resource limits for the calling process and its children (run in the child before exec)."""
    for which, value in ((resource.RLIMIT_AS, limits.memory), (resource.RLIMIT_CPU, limits.cpu_seconds),
                         (resource.RLIMIT_FSIZE, limits.file_size), (resource.RLIMIT_NOFILE, limits.open_files),
                         (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(which, (value, value))


def environment(home="/work"):
    """The only variables the student's process sees."""
    return {"HOME": home, "TMPDIR": home, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def quiet(limits):
    """Popen arguments shared by every tier: no terminal, own session, limits set before exec."""
    return dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=lambda: set_limits(limits))


class Started:
    """A student's worker process in its sandbox; ``kill()`` ends all of it, ``tidy()`` what it left."""

    def __init__(self, proc, cleanup, tidy=None):
        self.proc, self._cleanup, self._tidy = proc, cleanup, tidy

    def alive(self):
        return self.proc.poll() is None

    def tidy(self):
        """Between two tests: end every other process the student's code may have left (container tier)."""
        if self._tidy is not None:
            self._tidy(self.proc.pid)

    def kill(self):
        try:
            os.killpg(self.proc.pid, 9)              # the worker and whatever shares its process group
        except OSError:
            pass
        self.proc.wait()
        self._cleanup()
