"""``minizf mpirun -n K COMMAND ...``: mpiexec, with a rank's death said in one line.

When one rank dies (killed, out of memory), MPICH's mpiexec stops the others, so
nothing hangs; but it says so in a twelve-line banner about "BAD TERMINATION"
that names a process id, not a rank. This launcher runs the same mpiexec,
passes every line of the program through, and puts one line in place of
MPICH's notices: which rank died, and how. Each rank leaves its process id in
a folder the launcher made (``MINIZF_RANK_PIDS``), so the id in the banner can
be turned back into a rank. Nothing here talks to the ranks: MPI does that.
"""
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading

PIDS_ENV = "MINIZF_RANK_PIDS"

# MPICH (hydra) notices: the banner on stdout when a process dies, and the line MPI_Abort adds on
# stderr after ours. Other MPI libraries' lines pass through unchanged.
_BANNER_EDGE = re.compile(r"^=+$")
_BANNER_PID = re.compile(r"^=\s+PID (\d+) RUNNING AT (\S+)")
_EXIT_STRING = re.compile(r"^YOUR APPLICATION TERMINATED WITH THE EXIT STRING: (.*?)\s*$")
_AFTER_BANNER = ("This typically refers to a problem with your application.",
                 "Please see the FAQ page for debugging suggestions")
# A user's error, which every rank meets in the same place and says in the same words: said once.
_USER_ERROR = re.compile(r"^minizf [\w-]+: error: ")
_RANK = re.compile(r"(?<=: error: )rank \d+ of \d+: ")        # a rank naming itself: the same error still
_ABORT_LINE = re.compile(r"^Abort\(\d+\) on node \d+ \(rank \d+ in comm \d+\): application called MPI_Abort")


def leave_pid(rank):
    """Under ``minizf mpirun``: write this rank's process id where the launcher will look."""
    folder = os.environ.get(PIDS_ENV)
    if not folder or not os.path.isdir(folder):
        return
    try:
        with open(os.path.join(folder, str(int(rank))), "x") as f:      # "x": never overwrite a file
            f.write(f"{socket.gethostname()} {os.getpid()}\n")
    except OSError:
        pass                    # the launcher then names the process id only


def find_mpiexec():
    """The mpiexec beside this Python (MPICH's wheel installs it there), else the one on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = here if os.path.exists(here) else shutil.which("mpiexec")
    if not found:
        raise ValueError("minizf mpirun needs MPI: pip install 'minizf[mpi]' (mpi4py and MPICH's wheel)")
    return found


class Notices:
    """Reads mpiexec's output line by line: passes the program's lines on and keeps what MPICH's
    notices say (the dead process's id, host and exit string) instead of printing them."""

    def __init__(self):
        self.pid = self.host = self.exit_string = None
        self._in_banner = False
        self._blank = False             # a blank line is held back: the banner starts with one
        self._errors = set()            # user errors already printed (by another rank)

    def feed(self, line):
        """The lines to print now: ``line`` when it is the program's, none when it is MPICH's notice or
        a user's error another rank has already said."""
        text = line.rstrip("\n")
        if text == "" and not self._in_banner:
            held, self._blank = self._blank, True
            return ["\n"] if held else []
        held, self._blank = self._blank, False
        if _BANNER_EDGE.match(text) and len(text) > 20:
            self._in_banner = not self._in_banner
            return []
        if self._in_banner:
            found = _BANNER_PID.match(text)
            if found:
                self.pid, self.host = int(found.group(1)), found.group(2)
            return []
        found = _EXIT_STRING.match(text)
        if found:
            self.exit_string = found.group(1)
            return []
        if text in _AFTER_BANNER or _ABORT_LINE.match(text):
            return []
        if _USER_ERROR.match(text):
            said = _RANK.sub("", text, count=1)
            if said in self._errors:
                return []
            self._errors.add(said)
        return ["\n", line] if held else [line]

    def death(self, ranks):
        """One line naming the rank that died, or None when no process died by a signal (a rank that
        failed said why itself, and MPI_Abort stopped the rest). Hydra prints its exit string only for a
        process a signal ended ("Killed (signal 9)"), never for an exit status."""
        if self.exit_string is None:
            return None
        who = f"rank {ranks[self.pid]}" if self.pid in ranks else "a rank"
        where = f" (process {self.pid} on {self.host})" if self.pid is not None else ""
        return f"{who}{where} died: {self.exit_string}; mpiexec stopped the other ranks"


def read_pids(folder):
    """{process id: rank} from the files the ranks left."""
    ranks = {}
    for name in os.listdir(folder):
        try:
            with open(os.path.join(folder, name)) as f:
                ranks[int(f.read().split()[1])] = int(name)
        except (OSError, ValueError, IndexError):
            continue
    return ranks


def _pump(stream, sink, notices, lock):
    for line in iter(stream.readline, ""):
        with lock:
            for kept in notices.feed(line):
                sink.write(kept)
            sink.flush()


def _end_with_parent():
    """In mpiexec, before it starts (Linux): SIGTERM when the launcher dies, as it does when killed by
    a signal it cannot catch. mpiexec passes SIGTERM on to every rank."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)                   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):                   # not Linux: a kill -9 may leave the job running
        pass


@contextlib.contextmanager
def forward_signals(process):
    """SIGINT and SIGTERM sent to the launcher (Ctrl-C, ``timeout``, ``scancel``) go to mpiexec, which
    passes them to every rank: training saves a checkpoint and stops; the launcher waits for that."""
    def forward(sig, _frame):
        try:
            process.send_signal(sig)
        except OSError:
            pass
    old = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, forward)
    except ValueError:                                  # not the main thread: signals stay as they are
        pass
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def run(ranks, argv, after_death=""):
    """Run ``mpiexec -n ranks python -m minizf.cli *argv``; returns (exit status, the line to print or
    None). ``after_death`` is added to the line when a rank died (how to continue)."""
    command = [find_mpiexec(), "-n", str(ranks), sys.executable, "-m", "minizf.cli", *argv]
    lock = threading.Lock()
    with tempfile.TemporaryDirectory(prefix="minizf-ranks-") as folder:
        env = dict(os.environ, **{PIDS_ENV: folder})
        # mpiexec in a session of its own, so a signal reaches the job once, through forward_signals; and
        # told to end if this launcher dies unannounced (kill -9): never a job left running as orphans
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   bufsize=1, env=env, start_new_session=True, preexec_fn=_end_with_parent)
        streams = [(process.stdout, sys.stdout, Notices()), (process.stderr, sys.stderr, Notices())]
        pumps = [threading.Thread(target=_pump, args=(*stream, lock)) for stream in streams]
        for pump in pumps:
            pump.start()
        with forward_signals(process):
            status = process.wait()
        for pump in pumps:
            pump.join()
        ranks_by_pid = read_pids(folder)
    lines = [notices.death(ranks_by_pid) for _, _, notices in streams]
    line = next((found for found in lines if found), None)
    if line is not None:
        return (status or 1), line + after_death
    return status, None
