"""Run a command as Docker's defaults would, without Docker: ``python tests/dockerlike.py CMD ...``.

Docker starts a container's root with a small set of capabilities (no
CAP_SYS_ADMIN, NET_ADMIN or SYS_PTRACE) and its default seccomp profile,
which refuses unshare, setns, mount, the new mount API and every clone that
makes a namespace (EPERM), and clone3 (ENOSYS, so the C library falls back to
clone, whose flags the filter can read). This installs such a filter (as root
with CAP_SYS_ADMIN, as the Docker daemon does: no no_new_privs) and execs
``setpriv`` from util-linux with Docker's default capability set, so CMD runs
where bubblewrap fails exactly as in Docker. Run it as root; the tests do.
"""
import ctypes
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from minizf.course import seccomp  # noqa: E402 - the same libseccomp wrapper, another rule set

#: Docker's default capabilities (moby's oci/caps/defaults.go).
CAPABILITIES = ("chown", "dac_override", "fsetid", "fowner", "mknod", "net_raw", "setgid", "setuid", "setfcap",
                "setpcap", "net_bind_service", "sys_chroot", "kill", "audit_write")
#: Every CLONE_NEW* flag: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME.
CLONE_NEW = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000, 0x00000080)


def docker_rules():
    """(syscall, action, comparisons) refused as Docker's default seccomp profile refuses them."""
    refused = ("unshare", "setns", "mount", "umount2", "pivot_root", "open_tree", "move_mount", "fsopen",
               "fsconfig", "fsmount", "fspick", "mount_setattr")
    rules = [(name, seccomp.EPERM, []) for name in refused] + [("clone3", seccomp.ENOSYS, [])]
    rules += [("clone", seccomp.EPERM, [seccomp.masked_eq(0, flag, flag)]) for flag in CLONE_NEW]
    return rules


def install(program):
    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
    code = ctypes.create_string_buffer(program, len(program))
    prog = SockFprog(len(program) // 8, ctypes.addressof(code))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(22, 2, ctypes.addressof(prog), 0, 0) != 0:           # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError(ctypes.get_errno(), "seccomp")


def main(argv):
    install(seccomp.compile_rules(docker_rules()))
    caps = ",".join(["-all"] + ["+" + c for c in CAPABILITIES])
    os.execvp("setpriv", ["setpriv", "--bounding-set", caps, "--inh-caps", "-all", "--"] + argv)


if __name__ == "__main__":
    main(sys.argv[1:])
