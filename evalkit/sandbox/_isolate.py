"""Namespaces and resource limits, applied by the sandbox child to itself (stdlib only).

A new user namespace lets an unprivileged process create the others: a network namespace (no
interfaces but a downed loopback, so no network at all), a PID namespace (the program cannot name,
hence cannot signal, any process outside; when its init exits every process in it dies) and a mount
namespace (the whole file system read-only, a size-capped tmpfs over the work directory).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x10000000, 0x20000000, 0x40000000
_MS_NOSUID, _MS_NODEV, _MS_REC, _MS_PRIVATE = 2, 4, 0x4000, 1 << 18
_PR_SET_PDEATHSIG = 1
_MOUNT_SETATTR = 442  # the same number on x86_64 and aarch64
_AT_RECURSIVE, _MOUNT_ATTR_RDONLY = 0x8000, 0x1

_SERVER = (("user,net", CLONE_NEWUSER | CLONE_NEWNET),)  # once per fork server: one network namespace
_LAUNCHER_IN_USERNS = (("pid,mount", CLONE_NEWPID | CLONE_NEWNS),)  # per program, inside the server's
_LAUNCHER = (  # per program, when the server could not enter a user namespace
    ("user,net,pid,mount", CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS),
    ("user,net", CLONE_NEWUSER | CLONE_NEWNET),
)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def _unshare(attempts: tuple[tuple[str, int], ...]) -> set[str]:
    libc = _libc()
    uid, gid = os.geteuid(), os.getegid()
    for names, flags in attempts:
        if libc.unshare(flags) == 0:
            if flags & CLONE_NEWUSER:  # map our own ids so files we create on the tmpfs have an owner
                _write("/proc/self/setgroups", "deny")
                _write("/proc/self/uid_map", f"{uid} {uid} 1")
                _write("/proc/self/gid_map", f"{gid} {gid} 1")
            return set(names.split(","))
    return set()


def unshare_server() -> set[str]:
    """The fork server's namespaces, shared by all its programs: a user namespace (so launchers can
    create the rest without privileges) and a network namespace with no interface up. Creating a
    network namespace is the costliest step, so it is done once, not per program."""
    return _unshare(_SERVER)


def unshare_launcher(server_spaces: set[str]) -> set[str]:
    """Per program: a PID and a mount namespace (plus user and network ones if the server has none)."""
    return _unshare(_LAUNCHER_IN_USERNS if "user" in server_spaces else _LAUNCHER)


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def seal_filesystem(workdir: str, size_mb: int) -> dict[str, bool]:
    """In a new mount namespace: every mount read-only and private (nothing outside ``workdir`` can be
    written, deleted, chmod-ed or touched — Landlock does not cover metadata), then a private tmpfs of
    ``size_mb`` over ``workdir``, so filling the disk fills only that."""
    libc = _libc()
    attr = _MountAttr(_MOUNT_ATTR_RDONLY, 0, _MS_PRIVATE, 0)
    read_only = libc.syscall(_MOUNT_SETATTR, -100, b"/", ctypes.c_uint(_AT_RECURSIVE),
                             ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr))) == 0
    if not read_only and libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        return {"read_only_root": False, "disk_quota": False}
    options = f"size={size_mb}m,mode=0700".encode()
    quota = libc.mount(b"tmpfs", workdir.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, options) == 0
    return {"read_only_root": read_only, "disk_quota": quota}


def die_with_parent() -> None:
    """SIGKILL this process when its parent (the launcher) dies, e.g. killed at the wall-time limit."""
    _libc().prctl(_PR_SET_PDEATHSIG, 9, 0, 0, 0)


def set_limits(cpu_seconds: int, memory_mb: int, file_size_mb: int, max_processes: int, max_open_files: int) -> None:
    """Per-process hard limits; the program inherits them and cannot raise them."""
    mb = 1024 * 1024
    for name, value, extra in (
        ("RLIMIT_CPU", cpu_seconds, 1),  # soft → SIGXCPU, hard one second later → SIGKILL
        ("RLIMIT_AS", memory_mb * mb, 0),
        ("RLIMIT_FSIZE", file_size_mb * mb, 0),
        ("RLIMIT_NPROC", max_processes, 0),
        ("RLIMIT_NOFILE", max_open_files, 0),
        ("RLIMIT_CORE", 0, 0),
    ):
        resource.setrlimit(getattr(resource, name), (value, value + extra))


def become_subreaper() -> None:
    _libc().prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def not_dumpable() -> None:
    """Non-dumpable: processes without CAP_SYS_PTRACE cannot open this one's /proc files (its fds)."""
    _libc().prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE


def drop_capabilities() -> None:
    """Give up every capability held in the new user namespace (no mount, ptrace, DAC override)."""
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable × 2 words, all zero
    _libc().syscall(126 if os.uname().machine == "x86_64" else 91, header, data)  # capset


_CGROUP_ROOTS = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup")  # cgroup v1 pids hierarchy, cgroup v2


def join_pids_cgroup(max_pids: int) -> str | None:
    """As root (which RLIMIT_NPROC does not bind), move this fork server into a new pids cgroup capped at
    ``max_pids``: every launcher and program it forks is born inside it (joining per program would cost
    a cgroup migration, milliseconds, each time). Returns the cgroup's path, or None."""
    if os.geteuid() != 0:
        return None
    for root in _CGROUP_ROOTS:
        path = f"{root}/evalkit-sandbox-{os.getpid()}"
        try:
            os.mkdir(path)
        except OSError:
            continue
        try:
            _write(f"{path}/pids.max", str(max_pids))
            _write(f"{path}/cgroup.procs", str(os.getpid()))
            return path
        except OSError:
            remove_cgroup(path)
    return None


def set_pids_max(path: str, max_pids: int) -> None:
    _write(f"{path}/pids.max", str(max_pids))


def leave_cgroup(path: str) -> None:
    """Move this process back to the parent cgroup, so that ``path`` can be removed."""
    with contextlib.suppress(OSError):
        _write(f"{os.path.dirname(path)}/cgroup.procs", str(os.getpid()))


def remove_cgroup(path: str) -> bool:
    """False while processes remain in it (they are being killed; try again later)."""
    try:
        os.rmdir(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True
