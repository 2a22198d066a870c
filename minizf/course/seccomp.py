"""A seccomp filter that keeps a student's code from starting processes, built by libseccomp.

Why this exists beside the PID namespace and the resource limits: the limit
on processes (``RLIMIT_NPROC``) is not enforced for root, and graders run as
root (Gradescope's containers do). A fork bomb inside the sandbox would then
fill the machine's process table before the wall-clock limit kills it. The
kernel's seccomp filter is the tool for this, and libseccomp (Debian's
``libseccomp2``, which apt itself needs) compiles it, as Flatpak does for
bubblewrap. We only describe the rules; libseccomp writes the BPF program and
bubblewrap installs it (``bwrap --seccomp FD``).

The rules: ``fork`` and ``vfork`` fail with EPERM; ``clone`` fails with EPERM
unless it makes a thread (``CLONE_THREAD`` set), so threads still work;
``clone3`` fails with ENOSYS (its flags sit in memory a filter cannot read, and
ENOSYS makes the C library fall back to ``clone``); ``ptrace`` fails with EPERM.
"""
import ctypes
import ctypes.util
import errno
import os
import tempfile

CLONE_THREAD = 0x00010000
_ACT_ALLOW = 0x7FFF0000
_CMP_MASKED_EQ = 7


def _act_errno(code):
    return 0x00050000 | (code & 0xFFFF)


class _ArgCmp(ctypes.Structure):
    """libseccomp's struct scmp_arg_cmp: compare syscall argument ``arg`` with ``op``."""
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


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
                                                   ctypes.c_uint, ctypes.POINTER(_ArgCmp)]
            lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
            lib.seccomp_release.argtypes = [ctypes.c_void_p]
            return lib
    return None


def available():
    return _library() is not None


def _rules():
    """(syscall name, action, argument comparisons) of the filter."""
    eperm, enosys = _act_errno(errno.EPERM), _act_errno(errno.ENOSYS)
    not_a_thread = [_ArgCmp(0, _CMP_MASKED_EQ, CLONE_THREAD, 0)]    # (flags & CLONE_THREAD) == 0
    return [("fork", eperm, []), ("vfork", eperm, []), ("clone", eperm, not_a_thread),
            ("clone3", enosys, []), ("ptrace", eperm, [])]


def filter_file():
    """An open file holding the compiled filter (BPF), positioned at its start, for ``bwrap --seccomp``.

    Raises OSError where libseccomp is missing or refuses a rule.
    """
    lib = _library()
    if lib is None:
        raise OSError("libseccomp is not installed (Debian: apt-get install libseccomp2)")
    ctx = lib.seccomp_init(_ACT_ALLOW)
    if not ctx:
        raise OSError("libseccomp could not start a filter")
    try:
        for name, action, args in _rules():
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number < 0:                   # not a system call on this architecture (vfork on arm64)
                continue
            array = (_ArgCmp * max(len(args), 1))(*args)
            if lib.seccomp_rule_add_array(ctx, action, number, len(args), array) != 0:
                raise OSError(f"libseccomp refused the rule for {name}")
        out = tempfile.TemporaryFile()
        if lib.seccomp_export_bpf(ctx, out.fileno()) != 0:
            raise OSError("libseccomp could not write the filter")
    finally:
        lib.seccomp_release(ctx)
    out.flush()
    os.lseek(out.fileno(), 0, os.SEEK_SET)
    return out
