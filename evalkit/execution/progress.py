"""Progress on stderr: done/total, elapsed, requests/s, tokens/s, ETA, errors, tokens, and a status text
(spend, projected cost, concurrency, retries) from whoever drives the work. Silent with --quiet.

Answers found in the journal or cache are counted as done but not as work: the rate and the ETA come
from the requests answered in this session only, so a resumed run (or a local model that answers in
batches after its start-up) does not show "0:00:01 left" with a minute to go."""

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
        self.skipped = 0  # answered from the journal or cache: not work done in this session
        self._start = time.monotonic()
        self._bar: Any = None
        self._task: Any = None
        if quiet or total == 0:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[rate]:.1f} req/s  {task.fields[tps]:,.0f} tok/s  ETA {task.fields[eta]}"),
            TextColumn("errors {task.fields[errors]}  tokens {task.fields[tokens]}  {task.fields[status]}"),
            console=Console(file=sys.stderr),
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(description, total=total, rate=0.0, tps=0.0, eta="-:--:--", errors=0,
                                        tokens=0, status="")

    def skip(self, n: int) -> None:
        """``n`` requests already answered (journal or cache): done, but not part of the rate."""
        self.skipped += n
        self.done += n
        self._start = time.monotonic()  # the session's own work starts now
        if self._bar is not None:
            self._bar.update(self._task, advance=n)

    def advance(self, n: int = 1, tokens: int = 0, errors: int = 0) -> None:
        self.done += n
        self.errors += errors
        self.tokens += tokens
        if self._bar is not None:
            rate, tps, eta = self.rates()
            status = self.status(self.total - self.done) if self.status is not None else ""
            self._bar.update(self._task, advance=n, rate=rate, tps=tps, eta=eta, errors=self.errors,
                             tokens=self.tokens, status=status)

    def rates(self) -> tuple[float, float, str]:
        """(requests/s, tokens/s, ETA as H:MM:SS) over this session's own answers."""
        elapsed = max(time.monotonic() - self._start, 1e-9)
        fresh = self.done - self.skipped
        rate = fresh / elapsed
        remaining = self.total - self.done
        if fresh == 0 or rate <= 0:
            return 0.0, 0.0, "-:--:--"
        seconds = int(remaining / rate)
        return rate, self.tokens / elapsed, f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
