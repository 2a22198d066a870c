"""The seccomp filters that keep a student's code from starting processes, using sockets or reaching others.

Why this exists beside namespaces and resource limits: the limit on processes
(``RLIMIT_NPROC``) is not enforced for root, and graders run as root
(Gradescope's containers do); and in a container there are no namespaces at
all (Docker's default profile refuses them), so the kernel's seccomp filter is
what stops a submission from starting a process, opening a socket, or
signalling and reading other processes. libseccomp (Debian's ``libseccomp2``,
which apt itself needs) compiles the rules into BPF, as Flatpak does for
bubblewrap. We only describe the rules.

Two filters:

* ``filter_file()``, the *start* filter, which bubblewrap installs before it
  runs Python (``bwrap --seccomp FD``): no fork, vfork or process-making clone.
* ``program(pid)``, the *worker* filter, which ``worker.py`` installs on itself
  after Python has started and before it imports the student's file, in every
  tier: the start filter's rules, and no execve, no sockets of any family (the
  grader's pipes are handed over open), no ptrace or process_vm_*, no inotify
  or fanotify, no mount, unshare, setns, chroot, no io_uring (its operations
  are not system calls a filter sees), no bpf, perf events, userfaultfd or
  keyrings, no pidfds. With ``pid`` (the container tier, where no PID
  namespace hides the machine's processes) a signal may go to that pid only.

Actions: EPERM, except ENOSYS for ``clone3`` (its flags sit in memory a filter
cannot read; ENOSYS makes the C library fall back to ``clone``, whose flags it
can), so threads still work.
"""
import ctypes
import ctypes.util
import errno
import os
import tempfile

CLONE_THREAD = 0x00010000
_ACT_ALLOW = 0x7FFF0000
_CMP_NE, _CMP_EQ, _CMP_MASKED_EQ = 1, 4, 7

#: Refused outright by the worker filter (EPERM).
REFUSED = ("execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev", "socket", "socketpair",
           "inotify_init", "inotify_init1", "fanotify_init", "mount", "umount2", "unshare", "setns", "pivot_root",
           "chroot", "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "perf_event_open",
           "userfaultfd", "keyctl", "add_key", "request_key", "pidfd_open", "pidfd_getfd", "pidfd_send_signal",
           "tkill", "open_by_handle_at", "move_mount", "open_tree", "fsopen", "fsmount", "kcmp")
#: Signals: allowed only to the worker's own pid (first argument), where a pid is given.
SIGNALS = ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")


def act_errno(code):
    """libseccomp's SCMP_ACT_ERRNO(code)."""
    return 0x00050000 | (code & 0xFFFF)


EPERM, ENOSYS = act_errno(errno.EPERM), act_errno(errno.ENOSYS)


class ArgCmp(ctypes.Structure):
    """libseccomp's struct scmp_arg_cmp: compare syscall argument ``arg`` with ``op``."""
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


def masked_eq(arg, mask, value):
    """(argument ``arg`` & mask) == value."""
    return ArgCmp(arg, _CMP_MASKED_EQ, mask, value)


def _library():
    """libseccomp as a ctypes library, or None where it is not installed."""
    for name in (ctypes.util.find_library("seccomp"), "libseccomp.so.2"):
        if name:
            try:
                lib = ctypes.CDLL(name)
            except OSError:
                continue
            lib.seccomp_init.restype = ctypes.c_void_p
            lib.seccomp_init.argtypes = [ctypes.c_uint32]
            lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
            lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                                   ctypes.c_uint, ctypes.POINTER(ArgCmp)]
            lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
            lib.seccomp_release.argtypes = [ctypes.c_void_p]
            return lib
    return None


def available():
    return _library() is not None


def _rules():
    """(syscall name, action, argument comparisons) of the start filter: no new processes."""
    not_a_thread = [masked_eq(0, CLONE_THREAD, 0)]          # (flags & CLONE_THREAD) == 0
    return [("fork", EPERM, []), ("vfork", EPERM, []), ("clone", EPERM, not_a_thread),
            ("clone3", ENOSYS, []), ("ptrace", EPERM, [])]


def worker_rules(pid=None):
    """The worker filter's rules: the start filter's and more (module docstring); signals to ``pid`` only."""
    rules = _rules() + [(name, EPERM, []) for name in REFUSED if name != "ptrace"]
    if pid is not None:
        rules += [(name, EPERM, [ArgCmp(0, _CMP_NE, int(pid), 0)]) for name in SIGNALS]
    return rules


def compile_rules(rules):
    """The BPF program (bytes) of ``rules`` over a default of allow; OSError where libseccomp cannot."""
    lib = _library()
    if lib is None:
        raise OSError("libseccomp is not installed (Debian/Ubuntu: apt-get install libseccomp2)")
    ctx = lib.seccomp_init(_ACT_ALLOW)
    if not ctx:
        raise OSError("libseccomp could not start a filter")
    try:
        for name, action, args in rules:
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number < 0:                   # not a system call on this architecture (vfork on arm64)
                continue
            array = (ArgCmp * max(len(args), 1))(*args)
            if lib.seccomp_rule_add_array(ctx, action, number, len(args), array) != 0:
                raise OSError(f"libseccomp refused the rule for {name}")
        with tempfile.TemporaryFile() as out:
            if lib.seccomp_export_bpf(ctx, out.fileno()) != 0:
                raise OSError("libseccomp could not write the filter")
            out.seek(0)
            return out.read()
    finally:
        lib.seccomp_release(ctx)


def program(pid=None):
    """The worker filter as BPF bytes, for ``worker.py`` to install on itself."""
    return compile_rules(worker_rules(pid))


def filter_file():
    """An open file holding the start filter (BPF), positioned at its start, for ``bwrap --seccomp``."""
    out = tempfile.TemporaryFile()
    out.write(compile_rules(_rules()))
    out.flush()
    os.lseek(out.fileno(), 0, os.SEEK_SET)
    return out
