"""The container tier: a sandbox that needs no namespaces, for Gradescope's Docker containers and the like.

Docker's defaults (no CAP_SYS_ADMIN, a seccomp profile that refuses unshare,
setns, mount and namespace-making clones) leave bubblewrap nothing to build
with. What a root grader still has there is what Securescope uses on
Gradescope: users, file modes, seccomp and resource limits. Here the worker

* runs as a dedicated unprivileged user (``minizf-student``, made by the
  bundle's setup.sh; ``useradd`` line in the refusal where it is missing),
  never the grader's, in a session of its own, with the environment cleared;
* installs the worker seccomp filter on itself before the student's file is
  imported (``seccomp.program(pid)``: no new processes, no execve, no sockets,
  no ptrace, no mount, signals to itself only);
* has the rlimits of every tier and a private folder of its own (mode 0700,
  inside a root folder that others may pass through but not list);
* cannot read minizf's package, the course file or the roster, nor write
  where the results go: the grader checks this *as that user* before it
  starts (``check``) and refuses in one line naming the path and the chmod;
* runs alone: a lock in /run (root's) keeps a second grader on the machine
  from starting a student while another's is graded;
* and leaves nothing: after each test every other process of that user is
  killed, and when the worker ends, all of them (``kill(-1)`` as that user,
  then waiting until none is left), and every file that user owns in the
  machine's shared writable folders (/tmp, /var/tmp, /dev/shm) is removed.

What it cannot do without a mount: cap the total size of what the student
writes (each file is capped, the folder is removed after grading), or hide
the image's system files (/etc/passwd is readable, as on any Ubuntu).
"""
import fcntl
import functools
import json
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import seccomp
from .limits import Started, environment, quiet

USER = "minizf-student"
HERE = Path(__file__).resolve().parent
WORKER, PROTOCOL = HERE / "worker.py", HERE / "protocol.py"
SHARED = ("/tmp", "/var/tmp", "/dev/shm")           # where any user may write, on every Linux
CREATE = (f"useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "
          f"--user-group {USER}")


class Unavailable(ValueError):
    """The container tier cannot run here; the message says why and what to do."""


def ids():
    """(uid, gid) of the dedicated user; Unavailable (with the command that makes one) otherwise."""
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        raise Unavailable(f"there is no user {USER} to run the student's code as (as root: {CREATE}; "
                          "the Gradescope bundle's setup.sh makes it)") from None
    if entry.pw_uid == 0 or entry.pw_gid == 0 or entry.pw_uid == os.geteuid():
        raise Unavailable(f"user {USER} is root or the grader's own user (uid {entry.pw_uid}); it must be "
                          f"a user of its own: {CREATE}")
    return entry.pw_uid, entry.pw_gid


def why_not():
    """None where the container tier can start here, else one sentence saying why not."""
    if not sys.platform.startswith("linux"):
        return f"it needs Linux (this is {sys.platform})"
    if not seccomp.available():
        return "libseccomp is not installed (Debian/Ubuntu: apt-get install libseccomp2)"
    if os.geteuid() != 0:
        return f"the grader must run as root to start the student's code as user {USER} (Gradescope's does)"
    try:
        ids()
    except Unavailable as exc:
        return str(exc)
    return None


CHECK = r'''
import json, os, sys
asked = json.loads(sys.argv[1])
def readable(path):
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").close()
        return True
    except OSError:
        return False
import numpy
print(json.dumps({"readable": [p for p in asked["secret"] if readable(p)],
                  "writable": [p for p in asked["output"] if os.access(p, os.W_OK)]}))
'''


@functools.lru_cache(maxsize=None)
def check(secret=(), output=()):
    """Measured as the student's user: it runs this Python with NumPy, reads none of ``secret`` (paths)
    and writes in none of ``output`` (folders); Unavailable naming the first problem otherwise."""
    uid, gid = ids()
    python = sys.executable
    try:
        done = subprocess.run([python, "-I", "-c", CHECK, json.dumps({"secret": secret, "output": output})],
                              user=uid, group=gid, extra_groups=[], cwd="/", env=environment("/"),
                              capture_output=True, timeout=120)
        seen = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        seen = None
    if seen is None:
        raise Unavailable(f"user {USER} cannot run this Python with NumPy ({python}); install the grader's "
                          "Python where other users can read it (a virtual environment made from /usr/bin/python3 "
                          "outside /root, as the Gradescope bundle's setup.sh does)")
    if seen["readable"]:
        path = seen["readable"][0]
        raise Unavailable(f"user {USER} can read {path}, which a student must not see (the answer key, the "
                          f"course or other students' work); as root: chmod -R go-rwx {path}")
    if seen["writable"]:
        path = seen["writable"][0]
        raise Unavailable(f"user {USER} can write in {path}, where the grader writes its results; as root: "
                          f"chmod go-w {path}")


def _lock():
    """Hold the machine's container-tier lock (blocking): two graders at once would kill each other's
    students (every process of the user is killed between submissions). Root's folders only: a student's
    code must not be able to hold it."""
    for folder in ("/run", str(HERE)):
        try:
            fd = os.open(os.path.join(folder, "minizf-grade.lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError:
            continue
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd
    raise Unavailable("cannot make a lock file in /run or beside the grader")


def start(student_text, student_name, worker_args, pass_fds, limits):
    """Start worker.py as the dedicated user on a copy of the student's file, in a folder of its own."""
    uid, gid = ids()
    lock = _lock()                              # released when this worker's cleanup is done
    try:
        return _start(uid, gid, student_text, student_name, worker_args, pass_fds, limits, lock)
    except BaseException:
        os.close(lock)
        raise


def _start(uid, gid, student_text, student_name, worker_args, pass_fds, limits, lock):
    sweep(uid)                                  # nothing of an earlier submission's survives into this one
    top = tempfile.mkdtemp(prefix="minizf-grade-")
    os.chmod(top, 0o711)                        # others may pass through to their folder, never list it
    grader = os.path.join(top, "grader")
    os.mkdir(grader)
    os.chmod(grader, 0o755)
    for source in (WORKER, PROTOCOL):           # public code: readable, not writable, by the student
        shutil.copyfile(source, os.path.join(grader, source.name))
        os.chmod(os.path.join(grader, source.name), 0o644)
    work = os.path.join(top, "work-" + secrets.token_hex(8))
    os.mkdir(work, 0o700)
    path = os.path.join(work, student_name)
    with open(path, "wb") as f:
        f.write(student_text)
    os.chmod(path, 0o644)
    os.chown(work, uid, gid)
    try:
        proc = subprocess.Popen([sys.executable, "-I", "-B", os.path.join(grader, "worker.py"), path]
                                + worker_args + ["--nproc", str(limits.processes)],
                                pass_fds=pass_fds, cwd=work, env=environment(work), user=uid, group=gid,
                                extra_groups=[], **quiet(limits))
    except BaseException:
        shutil.rmtree(top, ignore_errors=True)
        raise

    def cleanup():
        try:
            sweep(uid)
            shutil.rmtree(top, ignore_errors=True)
            remove_files_of(uid)
        finally:
            os.close(lock)

    return Started(proc, cleanup, tidy=lambda keep: sweep(uid, keep))


# ---- nothing survives -----------------------------------------------------------------------------

def processes_of(uid):
    """Pids of the live (not zombie) processes whose real, effective or saved user is uid."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("State", "").strip().startswith(("Z", "X")):
            continue
        if str(uid) in fields.get("Uid", "").split()[:3]:
            found.append(int(pid))
    return found


def _kill_all_as(uid, gid):
    """kill(-1, SIGKILL) as the user: every process of that user at once, none can outrun it."""
    pid = os.fork()
    if pid == 0:                                # the child: nothing here may raise past _exit
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            os.kill(-1, 9)
        except BaseException:
            pass
        os._exit(0)
    os.waitpid(pid, 0)


def sweep(uid, keep=None, seconds=5.0):
    """End every process of uid (but ``keep``), then wait until none is left; RuntimeError if one stays."""
    deadline = time.monotonic() + seconds
    while True:
        left = [pid for pid in processes_of(uid) if pid != keep]
        if not left:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes {left} of user {USER} did not end")
        if keep is None:
            _kill_all_as(uid, pwd.getpwuid(uid).pw_gid)
        for pid in left:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        time.sleep(0.01)


def remove_files_of(uid, roots=SHARED):
    """Remove what uid owns in the shared writable folders (descending only into other world-writable
    folders, the only ones it could have written in); nobody else's file is touched."""
    stack = [r for r in roots if os.path.isdir(r)]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if info.st_uid == uid:
                if stat.S_ISDIR(info.st_mode):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    try:
                        os.unlink(entry.path)
                    except OSError:
                        pass
            elif stat.S_ISDIR(info.st_mode) and info.st_mode & 0o002:
                stack.append(entry.path)
