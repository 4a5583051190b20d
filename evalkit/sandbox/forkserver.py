"""The harness's side of one fork server (``_child.py``): send a program, enforce the wall-clock limit,
collect the verdict. One server runs one program at a time; the Sandbox keeps one per worker."""

from __future__ import annotations

import contextlib
import marshal
import os
import select
import signal
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

_CHILD = Path(__file__).with_name("_child.py")
_GRACE_SECONDS = 10.0  # after a kill, how long the server may take to reap and report
_MAX_MESSAGE = 1 << 20


class ServerDied(Exception):
    """The fork server exited or stopped answering; it is restarted for the next program."""


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class ForkServer:
    def __init__(self, python: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([python, "-I", "-S", str(_CHILD)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                     cwd=tempfile.gettempdir(), start_new_session=True, close_fds=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._out = self.proc.stdout.fileno()
        self._buffer = b""

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def run(self, code: str, workdir: str, limits: dict[str, Any], wall_seconds: float) -> dict[str, Any]:
        """The launcher's verdict dict; ``{"kind": "timeout"}`` when the wall limit was hit."""
        request = marshal.dumps({"code": code, "workdir": workdir, "limits": limits}, 4)
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(struct.pack("<I", len(request)) + request)
            self.proc.stdin.flush()
        except OSError as exc:
            raise ServerDied(f"cannot send to the fork server: {exc}") from None
        deadline = time.monotonic() + wall_seconds
        group: int | None = None
        verdict: dict[str, Any] | None = None
        timed_out = False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if timed_out:
                    raise ServerDied("the fork server did not report after a kill")
                timed_out = True
                if group is not None:
                    kill_group(group)  # the launcher's group; its PID namespace dies with it
                deadline = time.monotonic() + _GRACE_SECONDS
                continue
            message = self._receive(remaining)
            if message is None:
                continue
            if "pid" in message:
                group = int(message["pid"])
            elif "verdict" in message:
                verdict = message["verdict"]
            elif "done" in message:
                break
        if timed_out:
            return {"status": "failed", "kind": "timeout", "message": f"wall time over {wall_seconds:g}s"}
        if group is not None:
            kill_group(group)  # anything the program left in its group outside a PID namespace
        return verdict or {"status": "failed", "kind": "sandbox_error", "message": "the launcher sent no verdict"}

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        """One message, or None when ``timeout`` passes first."""
        while True:
            if len(self._buffer) >= 4:
                size = struct.unpack("<I", self._buffer[:4])[0]
                if size > _MAX_MESSAGE:
                    raise ServerDied("oversized message from the fork server")
                if len(self._buffer) >= 4 + size:
                    message = marshal.loads(self._buffer[4:4 + size])
                    self._buffer = self._buffer[4 + size:]
                    return message  # type: ignore[no-any-return]
            if not select.select([self._out], [], [], max(timeout, 0))[0]:
                return None
            chunk = os.read(self._out, 65536)
            if not chunk:
                raise ServerDied("the fork server exited")
            self._buffer += chunk

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()  # the server exits at end of input
        try:
            self.proc.wait(timeout=6)  # the server may spend up to 5 s removing cgroups of killed programs
        except subprocess.TimeoutExpired:
            kill_group(self.proc.pid)
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
