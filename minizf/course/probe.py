"""``minizf grade --check-sandbox``: what the sandbox stops on this machine, measured, not assumed.

A probe file is graded like a submission, in the tier ``--sandbox`` picks: it
tries what a hostile student would (read one of your files, the answer key,
your environment; find minizf among the installed packages; open a socket to
the grader; start a process; outlive the grader; write outside its folder and
leave a file in /tmp; take 3 GiB; write a 100 MB file) and reports what
happened. The grader then checks from outside, once the sandbox is gone, what
the probe cannot see: whether a file it wrote is still there and whether a
process it started is still running. A route a tier does not claim to stop
(the container tier leaves the image's /etc readable) is printed as "open"
with the reason, and does not fail the check.
"""
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

from . import container, sandbox
from .report import safe
from .student import StudentProcess

PROBE = r'''
import os, socket, subprocess, sys

def probe(secret_file, outside_dir, package_file, port, token, site_folders, grader_pid):
    """[(what it tried, "done" or the error that stopped it)]."""
    found = []
    def attempt(what, action):
        try:
            action()
            found.append((what, "done"))
        except BaseException as exc:
            found.append((what, type(exc).__name__ + ": " + str(exc)[:80]))
    def read(path):
        with open(path, "rb") as f:
            f.read(1)
    def env():
        if "MINIZF_PROBE_SECRET" in os.environ:
            return
        with open("/proc/%d/environ" % grader_pid, "rb") as f:      # the grader's, as it started
            if not f.read():
                raise LookupError("not in the environment")
    def connect():
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    def outlive():
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(30)", token])
    def write_outside():
        with open(os.path.join(outside_dir, "written-by-the-probe"), "w") as f:
            f.write("x")
    def memory():
        block = bytearray(3 << 30)
        block[-1] = 1
    def list_packages():
        found = [name for folder in site_folders.split(os.pathsep) if os.path.isdir(folder)
                 for name in os.listdir(folder)]
        if not found:
            raise LookupError("no installed package in sight")
    def find_minizf():
        found = [os.path.join(folder, name) for folder in site_folders.split(os.pathsep) if os.path.isdir(folder)
                 for name in os.listdir(folder) if "minizf" in name]
        for path in found:                       # the package, or an editable install's pointer to it
            if os.path.isdir(path):
                os.listdir(path)
            else:
                open(path, "rb").close()
            return
        raise LookupError("no minizf among the installed packages")
    def leave_file():
        with open(os.path.join("/tmp", token), "w") as f:
            f.write("x")
    def big_file():
        with open("big", "wb") as f:
            for _ in range(100):
                f.write(bytes(1 << 20))
    attempt("read a file of yours", lambda: read(secret_file))
    attempt("read minizf's source (the answer key)", lambda: read(package_file))
    attempt("read /etc/passwd", lambda: read("/etc/passwd"))
    attempt("list the packages installed for the grader's Python", list_packages)
    attempt("find minizf among the grader's Python's packages", find_minizf)
    attempt("see the grader's environment", env)
    attempt("connect to a socket the grader opened", connect)
    attempt("start a process", lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))
    attempt("leave a process running after grading", outlive)
    attempt("write outside its folder", write_outside)
    attempt("leave a file in the machine's /tmp", leave_file)
    attempt("take 3 GiB of memory", memory)
    attempt("write a 100 MB file", big_file)
    return found
'''


def _site_folders():
    """Every site-packages folder of the grader's Python, its base interpreter's included."""
    import site
    import sysconfig
    folders = set(site.getsitepackages())
    for base in (sys.prefix, sys.base_prefix):
        paths = sysconfig.get_paths(vars={"base": base, "platbase": base})
        folders.update(paths.get(k) for k in ("purelib", "platlib"))
    return sorted(f for f in folders if f)


def _survivors(token):
    """Processes whose command line holds token (the probe's would-be survivor)."""
    alive = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if token.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                alive.append(int(pid))
        except OSError:
            pass
    return alive


def run_probe(mode):
    """[(what was tried, stopped?, how)] for the sandbox ``mode`` ('bwrap' or 'none')."""
    outside = tempfile.mkdtemp(prefix="minizf-probe-")
    secret = os.path.join(outside, "secret.txt")
    Path(secret).write_text("the instructor's file\n")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    token = f"minizf-probe-{os.getpid()}-{time.monotonic_ns()}"
    os.environ["MINIZF_PROBE_SECRET"] = "1"
    try:
        process = StudentProcess(PROBE.encode(), "probe.py", mode, time_limit=60.0)
        try:
            process.begin_test(60.0)
            tried = process.call("probe", secret, outside, str(Path(sandbox.HERE.parent, "functional", "__init__.py")),
                                 server.getsockname()[1], token, os.pathsep.join(_site_folders()), os.getpid())
        finally:
            process.close()
        time.sleep(0.2)
        survivors = _survivors(token)
        wrote = os.path.exists(os.path.join(outside, "written-by-the-probe"))
        left = os.path.lexists(os.path.join("/tmp", token))
    finally:
        del os.environ["MINIZF_PROBE_SECRET"]
        server.close()
        for pid in locals().get("survivors", []):
            os.kill(pid, 9)
        shutil.rmtree(outside, ignore_errors=True)
        if os.path.lexists(os.path.join("/tmp", token)):
            os.unlink(os.path.join("/tmp", token))
    seen_outside = {"leave a process running after grading": not survivors,     # judged from outside
                    "write outside its folder": not wrote, "leave a file in the machine's /tmp": not left}
    return [(what, seen_outside.get(what, how != "done"), how) for what, how in tried]


#: Routes a tier does not claim to stop, and why (printed as "open", not counted against it).
OPEN_BY_DESIGN = {"container": {
    "read /etc/passwd": "the image's system files are readable, as on any Ubuntu; the grader's files are not",
    "list the packages installed for the grader's Python": "the student's code runs on the grader's Python and "
    "its NumPy; minizf is not installed there, and its package is root's only"}}

def check_sandbox(mode="auto"):
    """Print what the sandbox stopped; 0 when it stopped everything, 1 otherwise."""
    mode = sandbox.resolve(mode)
    limits = sandbox.LIMITS
    said = {"bwrap": " (bubblewrap: namespaces)", "none": " (no isolation asked for)",
            "container": f" (no namespaces: user {container.USER}, seccomp, file modes)"}
    print(f"sandbox: {mode}{said[mode]}")
    rows = run_probe(mode)
    open_here = OPEN_BY_DESIGN.get(mode, {})
    for what, stopped, how in rows:
        mark = "stopped" if stopped else "open" if what in open_here else "NOT STOPPED"
        why = f"  ({open_here[what]})" if mark == "open" else "" if how == "done" else f"  ({safe(how)})"
        print(f"{mark:<12} {what}{why}")
    disk = f"{limits.disk >> 20} MiB of disk" if mode == "bwrap" else \
        "no cap on the total written (a cap needs a mount); its files are removed after grading"
    print(f"limits: {limits.memory >> 20} MiB of address space, {limits.cpu_seconds} CPU seconds, files of "
          f"{limits.file_size >> 20} MiB, {disk}, {limits.open_files} open files, "
          f"a submission of {limits.submission >> 10} KiB")
    held = sum(stopped for _, stopped, _ in rows)
    claimed = [row for row in rows if row[0] not in open_here]
    print(f"{held} of {len(rows)} stopped" + (f" ({len(rows) - len(claimed)} open by design of this tier)"
                                              if len(claimed) < len(rows) else ""))
    return 0 if all(stopped for _, stopped, _ in claimed) else 1
