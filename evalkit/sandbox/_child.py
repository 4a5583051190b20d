"""The sandbox's process side: a fork server (``python -I -S _child.py``) and what its children do.

The server is a fresh interpreter that never runs untrusted code. For each request it reads on stdin
(``{"code", "workdir", "limits"}``, length-prefixed marshal) it forks a launcher, which starts a new
session, enters new namespaces, covers the work directory with a tmpfs, applies Landlock and forks
again: PID 1 of the new PID namespace, which forks the program's process (resource limits, stdio on
a file in the work directory, the program exec'd in a fresh namespace dict, its outcome written to
a pipe). Messages back on stdout: the launcher's ``{"pid"}`` (the process group to kill at the wall
limit), its ``{"verdict"}``, then the server's ``{"done"}``. Forking from a warm, clean server
costs about a millisecond where starting an interpreter costs tens.

Standard library only, and only modules that load fast (marshal, not json; signal numbers, not the
``signal`` module's enum). Never imported by evalkit.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import select
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _isolate  # noqa: E402
import _landlock  # noqa: E402

_OUTPUT = "output.txt"
_SIGXCPU, _SIGXFSZ = 24, 25  # Linux numbers
_SIGNALS = {6: "SIGABRT", 7: "SIGBUS", 9: "SIGKILL", 11: "SIGSEGV", 15: "SIGTERM", 24: "SIGXCPU", 25: "SIGXFSZ"}
_REPORT_LIMIT = 65536
_SERVER_SPACES: set[str] = set()  # namespaces the server entered at start (its programs share them)
_CGROUP: str | None = None  # the server's pids cgroup (root only)
# stdlib modules coding tasks import all the time (and traceback, for every failing program). Not
# `random`: its state would be the same in every forked program.
_PRELOAD = ("typing", "re", "math", "collections", "itertools", "functools", "heapq", "bisect", "string",
            "operator", "copy", "traceback")


def _isolate_self(workdir: str, limits: dict) -> dict:
    spaces = _SERVER_SPACES | _isolate.unshare_launcher(_SERVER_SPACES)
    sealed = _isolate.seal_filesystem(workdir, int(limits["disk_mb"])) if "mount" in spaces else {}
    os.chdir(workdir)  # re-enter: the tmpfs now covers the old directory
    try:
        landlock = _landlock.restrict(workdir)
    except OSError as exc:
        landlock = {"error": str(exc)}
    return {"namespaces": sorted(spaces), "landlock": landlock, "pids_cgroup": _CGROUP is not None, **sealed}


def _outcome_of(exc: BaseException) -> dict:
    if isinstance(exc, AssertionError):
        kind = "assertion"
    elif isinstance(exc, MemoryError):
        kind = "memory"
    elif isinstance(exc, OSError) and exc.errno in (27, 28):  # EFBIG, ENOSPC: the file-size or disk limit
        kind = "file_size" if exc.errno == 27 else "disk_full"
    elif isinstance(exc, SystemExit):
        kind = "exit"
    else:
        kind = f"exception:{type(exc).__name__}"
    import traceback

    tb = exc.__traceback__.tb_next if exc.__traceback__ else None  # skip the launcher's own frame
    lines = traceback.format_exception(type(exc), exc, tb)
    return {"status": "failed", "kind": kind, "message": str(exc)[:500], "traceback": "".join(lines)[-2000:]}


def _init(code: str, limits: dict, report_fd: int) -> None:
    """PID 1 of the new PID namespace: runs the program as its own child (so the program gets normal
    signal semantics, which PID 1 lacks) and exits with its status, 128 + N for signal N. When this
    process exits, the kernel kills everything the program left behind. Never returns."""
    _isolate.die_with_parent()
    pid = os.fork()
    if pid == 0:
        _run_program(code, limits, report_fd)
    os.close(report_fd)
    _, status = os.waitpid(pid, 0)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


def _run_program(code: str, limits: dict, report_fd: int) -> None:
    """The program's process: limits, stdio, then the program. Never returns."""
    _isolate.die_with_parent()
    os.dup2(os.open("/dev/null", os.O_RDONLY), 0)
    output = os.open(_OUTPUT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    _isolate.set_limits(int(limits["cpu_seconds"]), int(limits["memory_mb"]), int(limits["file_size_mb"]),
                        int(limits["max_processes"]), int(limits["max_open_files"]))
    _isolate.drop_capabilities()
    try:
        compiled = compile(code, "<program>", "exec")
    except (SyntaxError, ValueError) as exc:
        outcome = {"status": "failed", "kind": "syntax_error", "message": str(exc)[:500]}
    else:
        try:
            exec(compiled, {"__name__": "__sandbox__", "__builtins__": __builtins__})
            outcome = {"status": "passed"}
        except BaseException as exc:  # noqa: BLE001 - the program's failure is the result
            outcome = _outcome_of(exc)
    with contextlib.suppress(BaseException):  # a closed or broken stdout must not hide the verdict
        sys.stdout.flush()
        sys.stderr.flush()
    with contextlib.suppress(BaseException):
        os.write(report_fd, marshal.dumps(outcome, 4)[:_REPORT_LIMIT - 1])
    os._exit(0 if outcome["status"] == "passed" else 1)


def _read_available(fd: int) -> bytes:
    chunks, total = [], 0
    while total < _REPORT_LIMIT and select.select([fd], [], [], 0)[0]:
        chunk = os.read(fd, _REPORT_LIMIT - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _output_tail(limit: int = 2000) -> str:
    try:
        with open(_OUTPUT, "rb") as handle:
            handle.seek(max(0, os.fstat(handle.fileno()).st_size - limit))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _judge(raw: bytes, status: int) -> dict:
    try:
        outcome = marshal.loads(raw) if raw else None
    except (ValueError, EOFError, TypeError):
        outcome = None
    if not isinstance(outcome, dict) or outcome.get("status") not in ("passed", "failed"):
        outcome = None
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    if outcome is None and code > 128:
        sig = code - 128
        name = _SIGNALS.get(sig, f"signal {sig}")
        kind = {_SIGXCPU: "timeout", _SIGXFSZ: "file_size"}.get(sig, f"killed:{name}")
        return {"status": "failed", "kind": kind, "message": f"terminated by {name}"}
    if outcome is None:
        return {"status": "failed", "kind": "exited_early", "message": f"exit status {code} without a result"}
    if outcome["status"] == "passed" and code != 0:
        return {"status": "failed", "kind": "exited_early", "message": f"exit status {code}"}
    return outcome


def send(fd: int, message: dict) -> None:
    """One length-prefixed marshal message (the launcher and the server share the stdout pipe)."""
    data = marshal.dumps(message, 4)
    data = struct.pack("<I", len(data)) + data
    while data:
        data = data[os.write(fd, data):]


def _receive(stream) -> dict | None:
    header = stream.read(4)
    if len(header) < 4:
        return None
    return marshal.loads(stream.read(struct.unpack("<I", header)[0]))


def _launch(config: dict, out_fd: int) -> None:
    """The launcher (a child of the server): isolate, run the program, report. Never returns."""
    try:
        os.setsid()  # its own process group: the harness kills the group at the wall limit
        send(out_fd, {"pid": os.getpid()})
        limits, workdir = config["limits"], config["workdir"]
        os.environ.update(HOME=workdir, TMPDIR=workdir)
        isolation = _isolate_self(workdir, limits)
        _isolate.not_dumpable()  # the program cannot reach this process's fds through /proc
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _init(config["code"], limits, write_fd)
        os.close(write_fd)
        _, status = os.waitpid(pid, 0)
        verdict = _judge(_read_available(read_fd), status)
        verdict["output"] = _output_tail()
        verdict["isolation"] = isolation
        send(out_fd, {"verdict": verdict})
    except BaseException as exc:  # noqa: BLE001 - report, never fall back into the server's loop
        send(out_fd, {"verdict": {"status": "failed", "kind": "sandbox_error", "message": repr(exc)[:500]}})
    finally:
        os._exit(0)


def _reap(wait_seconds: float = 0.0) -> None:
    """Reap orphans (this server is the subreaper of its launchers' namespaces), waiting up to
    ``wait_seconds`` for all to be gone: a killed launcher's PID 1 outlives it while the kernel tears
    its namespace down, and its processes still count against the pids cgroup until then."""
    deadline = time.monotonic() + wait_seconds
    with contextlib.suppress(ChildProcessError):
        while True:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                if time.monotonic() >= deadline:
                    return
                time.sleep(0.005)


def _limit_processes(limits: dict) -> None:
    """Root only: the server's pids cgroup holds the server, a launcher, its PID 1 and the program's processes."""
    global _CGROUP
    max_pids = int(limits["max_processes"]) + 4
    if _CGROUP is None:
        _CGROUP = _isolate.join_pids_cgroup(max_pids)
    else:
        _isolate.set_pids_max(_CGROUP, max_pids)


def _remove_own_cgroup() -> None:
    if _CGROUP is None:
        return
    _isolate.leave_cgroup(_CGROUP)
    for _ in range(50):  # processes of a killed program may take a moment to go
        _reap()
        if _isolate.remove_cgroup(_CGROUP):
            return
        time.sleep(0.1)


def serve() -> None:
    """Fork one launcher per request, one at a time; exit at end of input (the harness went away)."""
    global _SERVER_SPACES
    out_fd = sys.stdout.fileno()
    _SERVER_SPACES = _isolate.unshare_server()
    for name in _PRELOAD:  # imported once here, inherited by every forked program
        with contextlib.suppress(ImportError):
            __import__(name)
    _isolate.become_subreaper()  # a namespace's PID 1 outliving its launcher is reaped here, not by init
    try:
        while True:
            request = _receive(sys.stdin.buffer)
            if request is None:
                break
            _limit_processes(request["limits"])
            pid = os.fork()
            if pid == 0:
                _launch(request, out_fd)
            _, status = os.waitpid(pid, 0)
            _reap(wait_seconds=10.0)
            send(out_fd, {"done": status})
    finally:
        _remove_own_cgroup()


if __name__ == "__main__":
    serve()
