"""Processes a test (or tools/mutants.py) started itself, and only those.

A test that looks for a student's leftover processes must not find another
grader's on the same machine, let alone kill it. ``subreaper()`` makes the
calling process the child subreaper: whatever its children double-fork away
is reparented to it, not to init, so ``descendants()`` holds every process
its runs started, escaped ones included, and nothing else on the machine.
"""
import ctypes
import os
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def subreaper(on=True):
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0)


def reap():
    """Collect the orphans that died here (they were reparented to us)."""
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def descendants():
    """Pids of the live (not zombie) processes below this one."""
    parent = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] not in "ZX":
            parent[int(pid)] = int(fields[1])
    mine, me = [], os.getpid()
    for pid in parent:
        up, steps = parent.get(pid), 0
        while up and up != me and steps < 64:
            up, steps = parent.get(up), steps + 1
        if up == me:
            mine.append(pid)
    return mine


def workers():
    """Descendants running the grader's worker (a student's code), in a sandbox or out of it."""
    found = []
    for pid in descendants():
        try:
            words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(w.endswith(b"/worker.py") and b"grader" in w or w.endswith(b"course/worker.py") for w in words):
            found.append(pid)
    return found
