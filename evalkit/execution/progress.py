"""Progress on stderr: done/total, requests/s, ETA, errors, tokens, and a status text (spend, projected
cost, concurrency) from whoever drives the work. Silent with --quiet."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any


class Progress:
    """A rich progress bar, or nothing when quiet or when stderr is not a terminal-like stream."""

    def __init__(self, total: int, description: str, quiet: bool = False,
                 status: Callable[[int], str] | None = None) -> None:
        self.status = status  # called with the number of requests still to answer
        self.total = total
        self.done = 0
        self.errors = 0
        self.tokens = 0
        self._start = time.monotonic()
        self._bar: Any = None
        self._task: Any = None
        if quiet or total == 0:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:.1f} req/s"),
            TimeRemainingColumn(),
            TextColumn("errors {task.fields[errors]}  tokens {task.fields[tokens]}  {task.fields[status]}"),
            console=Console(file=sys.stderr),
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(description, total=total, rate=0.0, errors=0, tokens=0, status="")

    def advance(self, n: int = 1, tokens: int = 0, errors: int = 0) -> None:
        self.done += n
        self.errors += errors
        self.tokens += tokens
        if self._bar is not None:
            elapsed = max(time.monotonic() - self._start, 1e-9)
            status = self.status(self.total - self.done) if self.status is not None else ""
            self._bar.update(
                self._task, advance=n, rate=self.done / elapsed, errors=self.errors, tokens=self.tokens, status=status
            )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
