"""Run untrusted Python programs, never in the evalkit process: each in its own process forked by a
clean fork server (``_child.py``), in its own session (process group), with a fresh temporary directory
as cwd and HOME, a scrubbed environment, and a wall-clock limit at which the whole process group is
killed. The launcher adds what the kernel allows: namespaces, Landlock and rlimits. A thread pool
drives one fork server per worker.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import socket
import stat
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from evalkit.sandbox.forkserver import ForkServer, ServerDied
from evalkit.sandbox.verdict import Limits, Verdict

_SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"


def scrubbed_env(workdir: str) -> dict[str, str]:
    """An allow-list environment: nothing from the caller's (no API keys, tokens, proxies)."""
    return {"PATH": _SAFE_PATH, "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}


def _remove_tree(path: str) -> None:
    """Delete a work directory even when the program made parts of it unreadable."""
    def unlock(func: Callable[..., Any], target: str, _exc: Any) -> None:
        try:
            os.chmod(os.path.dirname(target), stat.S_IRWXU)
            os.chmod(target, stat.S_IRWXU)
            func(target)
        except OSError:
            pass
    shutil.rmtree(path, onerror=unlock)


@dataclass(frozen=True)
class Isolation:
    """What this machine's kernel lets the sandbox enforce, measured by running a probe program."""

    network: bool  # no network at all (a network namespace, verified by a refused connection)
    network_detail: str
    filesystem: bool  # no writes, deletions or metadata changes outside the work directory
    filesystem_detail: str
    processes: str  # how the program is kept from signalling processes outside it
    disk_quota: bool  # the work directory is a size-capped tmpfs
    details: dict[str, Any] = field(default_factory=dict)
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)  # on a Ray cluster: each node's own report

    def summary(self) -> str:
        return (f"network isolation: {'yes' if self.network else 'no'} ({self.network_detail}); "
                f"filesystem isolation: {'yes' if self.filesystem else 'no'} ({self.filesystem_detail}); processes: {self.processes}; "
                f"disk quota: {'yes' if self.disk_quota else 'no'}")

    def as_dict(self) -> dict[str, Any]:
        return {"network_isolation": "yes" if self.network else "no", "network": self.network_detail,
                "filesystem_isolation": "yes" if self.filesystem else "no", "filesystem": self.filesystem_detail,
                "processes": self.processes,
                "disk_quota": "yes" if self.disk_quota else "no", "summary": self.summary(),
                **({"nodes": self.nodes} if self.nodes else {})}


_ISOLATION: dict[str, Isolation] = {}
_ISOLATION_LOCK = threading.Lock()


class Sandbox:
    """Executes programs and returns Verdicts. ``workers`` programs run at once, each worker driving its
    own fork server; servers start on first use and stop with ``close()`` (or when the Sandbox is freed)."""

    def __init__(self, limits: Limits | None = None, workers: int | None = None, python: str | None = None) -> None:
        self.limits = limits or Limits()
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.python = python or sys.executable
        self._idle: queue.SimpleQueue[ForkServer] = queue.SimpleQueue()
        self._servers: list[ForkServer] = []
        self._finalizer = weakref.finalize(self, _close_all, self._servers)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the fork servers (idle ones; call it when no program is running)."""
        with contextlib.suppress(queue.Empty):
            while True:
                self._idle.get_nowait()
        _close_all(self._servers)

    def run(self, code: str) -> Verdict:
        started = time.perf_counter()
        report = self._execute(code)
        return Verdict(passed=report.get("status") == "passed", kind=report.get("kind"),
                       message=str(report.get("message", "")), seconds=time.perf_counter() - started,
                       output=str(report.get("output", "")))

    def run_many(self, programs: Sequence[str], on_done: Callable[[int], None] | None = None) -> list[Verdict]:
        """Verdicts in the order of ``programs``; ``on_done(i)`` is called as each finishes."""
        def one(index: int) -> Verdict:
            verdict = self.run(programs[index])
            if on_done is not None:
                on_done(index)
            return verdict
        if not programs:
            return []
        with ThreadPoolExecutor(max_workers=min(self.workers, len(programs))) as pool:
            return list(pool.map(one, range(len(programs))))

    def _server(self) -> ForkServer:
        try:
            server = self._idle.get_nowait()
        except queue.Empty:
            server = ForkServer(self.python, scrubbed_env(tempfile.gettempdir()))
            self._servers.append(server)
        return server

    def _execute(self, code: str) -> dict[str, Any]:
        workdir = tempfile.mkdtemp(prefix="evalkit-sandbox-")
        server = self._server()
        try:
            report = server.run(code, workdir, self.limits.as_child_config(), self.limits.wall_seconds)
        except (ServerDied, OSError) as exc:
            server.close()
            self._servers.remove(server)
            return {"status": "failed", "kind": "sandbox_error", "message": str(exc)}
        finally:
            _remove_tree(workdir)
        self._idle.put(server)
        return report

    def isolation(self) -> Isolation:
        """Probe (once per interpreter) what isolation works here: run a program that tries the network."""
        with _ISOLATION_LOCK:
            if self.python not in _ISOLATION:
                _ISOLATION[self.python] = self._probe()
            return _ISOLATION[self.python]

    def _probe(self) -> Isolation:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            port = listener.getsockname()[1]
            report = self._execute(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n")
        details = report.get("isolation") or {}
        spaces = set(details.get("namespaces", []))
        landlock = details.get("landlock") or {}
        connected = report.get("status") == "passed"
        if connected:
            network_detail = "a probe program reached a TCP port on 127.0.0.1"
        elif "net" in spaces:
            network_detail = "network namespace"
        else:
            network_detail = "TCP blocked by Landlock; other protocols open" if landlock.get("tcp") else "none"
        processes = ("PID namespace" if "pid" in spaces else "Landlock signal scope" if landlock.get("signals")
                     else "process group only: the program can signal other processes of this user")
        if details.get("pids_cgroup"):
            processes += " + pids cgroup"
        elif os.geteuid() == 0:
            processes += "; running as root, which the process-count limit does not bind"
        layers = [name for name, on in (("read-only mounts", details.get("read_only_root")),
                                         ("Landlock", landlock.get("filesystem"))) if on]
        filesystem_detail = " + ".join(layers) if layers else "none: the program can write wherever this user can"
        if layers == ["Landlock"]:
            filesystem_detail += " (writes and deletions; chmod and timestamps not covered)"
        if report.get("kind") == "sandbox_error":
            details = {**details, "error": report.get("message")}
        return Isolation(network=not connected and "net" in spaces, network_detail=network_detail,
                         filesystem=bool(details.get("read_only_root")), filesystem_detail=filesystem_detail,
                         processes=processes,
                         disk_quota=bool(details.get("disk_quota")), details={**details, "probe": report.get("kind")})


def _close_all(servers: list[ForkServer]) -> None:
    while servers:
        servers.pop().close()
