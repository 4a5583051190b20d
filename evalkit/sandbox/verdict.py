"""What the sandbox promises (Limits) and what it reports for one program (Verdict)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# failure kinds a Verdict may carry (``exception:<Type>`` and ``killed:<SIGNAL>`` are open-ended)
FAILURE_KINDS = ("assertion", "exception:<Type>", "syntax_error", "timeout", "memory", "file_size", "disk_full",
                 "killed:<SIGNAL>", "exit", "exited_early", "sandbox_error")


@dataclass(frozen=True)
class Limits:
    """Per-program limits. CPU, memory, file size, processes and open files are kernel rlimits set in
    the child; wall time is enforced by the harness, which kills the whole process group."""

    wall_seconds: float = 10.0
    cpu_seconds: int = 10
    memory_mb: int = 1024  # address space per process
    file_size_mb: int = 16  # largest file the program may write
    disk_mb: int = 64  # size of the tmpfs work directory (when a mount namespace is available)
    max_processes: int = 32  # processes/threads the program may have at once
    max_open_files: int = 64

    def as_child_config(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "wall_seconds"}


@dataclass(frozen=True)
class Verdict:
    """The result of one program: passed, or failed with a kind from FAILURE_KINDS."""

    passed: bool
    kind: str | None = None
    message: str = ""
    seconds: float = 0.0
    output: str = ""  # the tail of what the program printed

    @property
    def status(self) -> str:
        return "passed" if self.passed else "timeout" if self.kind == "timeout" else "failed"

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "kind": self.kind, "message": self.message, "seconds": round(self.seconds, 3)}
