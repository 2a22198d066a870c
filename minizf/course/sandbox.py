"""The sandbox tiers a student's code runs in, and which one runs here.

``start(...)`` starts ``worker.py`` on a student file in one of three tiers:

* ``bwrap`` (what ``auto`` picks where bubblewrap can make namespaces): new
  user, PID, network, IPC and UTS namespaces: it runs as ``nobody`` with no
  capabilities, sees only its own processes, has no network but its own
  loopback, and everything in it dies with the sandbox (``--die-with-parent``;
  the PID namespace ends with its first process); a file system made of the
  Python runtime and the system's libraries bound read-only, every
  site-packages folder covered by an empty one, NumPy alone bound at
  ``/opt/site``, the two worker files at ``/grader``, /dev with null, zero,
  random and urandom only, and a private, size-capped tmpfs at ``/work`` (also
  ``/tmp``) holding a *copy* of the submission, the only writable place (the
  sandbox's own root is remounted read-only); no ``/etc``, no home, no minizf.
* ``container`` (what ``auto`` picks where bubblewrap cannot start, as in
  Gradescope's Docker containers): a dedicated user, file modes, seccomp and
  limits, every process and file of that user removed after grading
  (``container.py`` says how and what it cannot do).
* ``none``, asked for by name only: the same worker as an ordinary child
  process with the same limits and filter, in a private temporary folder, as
  ``nobody`` where the grader is root and nobody can run its Python; for
  your own files on a machine you can wipe, and stamped on the report.

In every tier the worker installs the seccomp filter of ``seccomp.py`` on
itself before the student's file runs, and the resource limits of
``limits.py`` are set before its Python starts.
"""
import functools
import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from . import container, seccomp
from .limits import LIMITS, Limits, Started, environment, quiet, set_limits  # noqa: F401 - the tiers' API

HERE = Path(__file__).resolve().parent
WORKER, PROTOCOL = HERE / "worker.py", HERE / "protocol.py"
MODES = ("auto", "bwrap", "container", "none")
NOBODY = 65534
DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom")


class Unavailable(ValueError):
    """The sandbox asked for cannot be made on this machine; the message says why and what to do."""


def why_not_bwrap():
    """None where bubblewrap can make the sandbox here, else one sentence saying why not."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap runs on Linux only (this is {sys.platform})"
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    if not seccomp.available():
        return "libseccomp is not installed (Debian/Ubuntu: apt-get install libseccomp2)"
    try:
        done = subprocess.run(["bwrap", "--unshare-user", "--unshare-pid", "--unshare-net", "--ro-bind", "/", "/",
                               "--proc", "/proc", "--dev", "/dev", "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap did not start ({exc})"
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        return (f"bubblewrap cannot make namespaces here ({said[0]}); a container needs user "
                "namespaces allowed (e.g. docker run --security-opt seccomp=unconfined)")
    return None


def resolve(mode, secret=(), output=()):
    """The tier that will run: 'bwrap', 'container' or 'none'; Unavailable when the one asked for cannot.

    secret: paths the student's code must not read, output: folders it must not write in; the
    container tier checks both as the student's user (bubblewrap shows it neither).
    """
    if mode not in MODES:
        raise ValueError(f"--sandbox {mode}: expected one of {', '.join(MODES)}")
    if mode == "none":
        return "none"
    no_bwrap = why_not_bwrap() if mode in ("auto", "bwrap") else "not asked for"
    if no_bwrap is None:
        return "bwrap"
    no_container = container.why_not() if mode in ("auto", "container") else "not asked for"
    if no_container is None:
        secret = tuple(os.path.abspath(p) for p in (str(HERE.parent),) + tuple(map(str, secret)))
        try:
            container.check(secret, tuple(os.path.abspath(str(p)) for p in output))
        except container.Unavailable as exc:
            raise Unavailable(f"--sandbox {mode}: cannot isolate the student's code: {exc}") from None
        return "container"
    said = {"bwrap": f"bubblewrap: {no_bwrap}", "container": f"the container tier: {no_container}"}
    why = "; ".join(said[t] for t in ("bwrap", "container") if mode in ("auto", t))
    raise Unavailable(f"--sandbox {mode}: cannot isolate the student's code: {why}. The sandbox keeps a "
                      "submission from reading your files and the answer key, using the network, leaving "
                      "processes behind and changing the grader; to grade without it on a machine you can "
                      "wipe, pass --sandbox none")


def runs_as(mode):
    """Whom the student's code runs as in a tier, for the report."""
    return {"bwrap": "nobody", "container": container.USER}.get(mode) or none_user()


# ---- what the sandbox sees --------------------------------------------------------------------

def _runtime():
    """(python executable, folders of the Python runtime outside /usr)."""
    python = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
    roots = {os.path.realpath(p) for p in (sys.base_prefix, sys.base_exec_prefix)}
    return python, sorted(r for r in roots if not _inside(r, "/usr"))


def _inside(path, root):
    return path == root or path.startswith(root.rstrip("/") + "/")


def _site_folders(roots):
    """Every site-packages or dist-packages folder inside the bound trees: each is covered by an empty one."""
    found = set()
    for root in roots:
        for pattern in ("lib*/python3*/site-packages", "lib*/python3*/dist-packages", "lib*/python3/dist-packages",
                        "local/lib*/python3*/site-packages", "local/lib*/python3*/dist-packages"):
            found.update(os.path.realpath(p) for p in glob.glob(os.path.join(root, pattern)))
    for key in ("purelib", "platlib"):
        path = sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_exec_prefix}).get(key)
        if path and os.path.isdir(path):
            found.add(os.path.realpath(path))
    minizf_dir = os.path.realpath(HERE.parent)      # wherever minizf lives, it is hidden too
    found.add(minizf_dir)
    return sorted(p for p in found if any(_inside(p, r) for r in roots))


def _numpy_folders():
    """[(host folder, folder in the sandbox)]: NumPy and its bundled libraries (numpy.libs)."""
    import numpy
    package = Path(numpy.__file__).resolve().parent
    pairs = [(package, "/opt/site/numpy")]
    libs = package.parent / "numpy.libs"
    if libs.is_dir():
        pairs.append((libs, "/opt/site/numpy.libs"))
    return pairs


def _system_binds():
    """bwrap arguments for /usr and the top-level links into it (/bin, /lib, /lib64, ...)."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    return args


def bwrap_args(student_fd, student_name, seccomp_fd, limits=LIMITS):
    """The bwrap command line up to (not including) the command it runs in the sandbox."""
    python, runtime = _runtime()
    args = ["bwrap", "--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY), "--unshare-pid",
            "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--disable-userns",
            "--die-with-parent", "--new-session", "--clearenv", "--hostname", "sandbox"]
    args += _system_binds()
    for root in runtime:
        args += ["--ro-bind", root, root]
    for folder in _site_folders(["/usr"] + runtime):
        args += ["--tmpfs", folder, "--remount-ro", folder]
    for host, inside in _numpy_folders():
        args += ["--ro-bind", str(host), inside]
    args += ["--proc", "/proc", "--perms", "0555", "--dir", "/dev"]
    for node in DEVICES:                     # no writable tmpfs at /dev or /dev/shm (the disk cap holds)
        args += ["--dev-bind", node, node]
    args += ["--symlink", "/proc/self/fd", "/dev/fd", "--size", str(limits.disk), "--tmpfs", "/work",
             "--symlink", "/work", "/tmp", "--ro-bind", str(WORKER), "/grader/worker.py",
             "--ro-bind", str(PROTOCOL), "/grader/protocol.py", "--file", str(student_fd), f"/work/{student_name}",
             "--seccomp", str(seccomp_fd), "--chdir", "/work", "--remount-ro", "/"]
    for key, value in environment().items():
        args += ["--setenv", key, value]
    return args, python


# ---- starting one --------------------------------------------------------------------------------

def start(student_text, student_name, to_child, from_child, mode, limits=LIMITS):
    """Start worker.py on a copy of the student's file (bytes) in tier ``mode``; the caller then sends
    the worker filter (``filter_for``) on to_child's pipe."""
    worker_args = [str(to_child), str(from_child)]
    if mode == "bwrap":
        return _start_bwrap(student_text, student_name, worker_args, limits)
    if mode == "container":
        return container.start(student_text, student_name, worker_args, (to_child, from_child), limits)
    folder = tempfile.mkdtemp(prefix="minizf-grade-")
    path = os.path.join(folder, student_name)
    with open(path, "wb") as f:
        f.write(student_text)
    user = _as_nobody()
    if user:                                  # its own folder is the only one it may write in
        os.chown(folder, NOBODY, NOBODY)
        os.chown(path, NOBODY, NOBODY)
    extra = ["--nproc", str(limits.processes)] if user else []
    proc = subprocess.Popen([sys.executable, "-I", "-B", str(WORKER), path] + worker_args + extra,
                            pass_fds=(to_child, from_child), cwd=folder, env=environment(folder),
                            **user, **quiet(limits))
    return Started(proc, lambda: shutil.rmtree(folder, ignore_errors=True))


def filter_for(mode, started):
    """The worker filter (BPF bytes) for a started worker: signals to itself only where no PID
    namespace hides the machine's processes. Empty (no filter) only for ``--sandbox none`` on a
    machine without libseccomp (macOS, Windows), where the report already says nothing isolates it."""
    if mode == "none" and not (sys.platform.startswith("linux") and seccomp.available()):
        return b""
    return seccomp.program(None if mode == "bwrap" else started.proc.pid)


def none_user():
    """Who a student's code runs as with ``--sandbox none``: 'nobody' where the grader is root and
    nobody can run this Python, else the grader's own user."""
    return "nobody" if _as_nobody() else "the grader's user"


@functools.lru_cache(maxsize=None)
def _nobody_runs_python():
    try:
        return subprocess.run([sys.executable, "-I", "-c", "import numpy"], user=NOBODY, group=NOBODY,
                              extra_groups=[], cwd="/", capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _as_nobody():
    """Popen arguments that run the child as nobody (no files of root's to write, no root's processes
    to signal; the process limit holds), where the grader is root and nobody can run Python here."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not _nobody_runs_python():
        return {}
    return {"user": NOBODY, "group": NOBODY, "extra_groups": []}


def _start_bwrap(student_text, student_name, worker_args, limits):
    student = os.memfd_create("submission")
    os.write(student, student_text)
    os.lseek(student, 0, os.SEEK_SET)
    bpf = seccomp.filter_file()
    try:
        args, python = bwrap_args(student, student_name, bpf.fileno(), limits)
        command = args + [python, "-I", "-S", "-B", "/grader/worker.py", f"/work/{student_name}"] + worker_args + [
            "--site", "/opt/site", "--nproc", str(limits.processes)]
        proc = subprocess.Popen(command, pass_fds=(student, bpf.fileno(), *map(int, worker_args)),
                                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, **quiet(limits))
    finally:
        os.close(student)
        bpf.close()
    return Started(proc, lambda: None)
