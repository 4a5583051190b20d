"""Adaptive concurrency (AIMD): back off as a whole on a run of 429s, creep back up on success.

A provider's rate limit is shared by every call of the run, so retrying each 429 on its own keeps the
client hammering a limit it has already hit. The controller keeps one concurrency limit for the run,
within ``[1, maximum]``. It starts at ``initial`` and grows ×1.5 per round trip (slow start: +0.5 per
success) until the first 429; a 429 then multiplies it by ``decrease`` (at most once per round trip: a
burst of 429s from calls sent at the same moment counts once), and each success adds
``increase/limit`` (+1 every three round trips: long cycles, so few 429s per request). A 429's
Retry-After also holds back every new call until it passes, not just the one retried. The constants
were chosen with bench/adaptive_concurrency.py (docs/cost.md).
With ``adaptive=False`` the limit stays at ``maximum`` (fixed concurrency) and only the 429s are counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass


@dataclass
class Ticket:
    """A slot held by one call: the epoch tells whether a 429 it meets is news (sent after the last cut)."""

    epoch: int


class ConcurrencyController:
    def __init__(self, maximum: int, adaptive: bool = True, decrease: float = 0.5, initial: int = 8,
                 slow_start_step: float = 0.5, increase: float = 1 / 3, max_trace: int = 256) -> None:
        self.maximum = max(1, maximum)
        self.adaptive = adaptive
        self.decrease = decrease
        self.slow_start_step = slow_start_step
        self.increase = increase
        self.limit = float(min(self.maximum, initial) if adaptive else self.maximum)
        self._slow_start = adaptive  # until the first 429: ×1.5 each round trip
        self.rate_limited = 0  # 429 answers seen
        self.trace: list[tuple[float, int]] = [(0.0, self.current)]  # (seconds since start, limit)
        self._max_trace = max(4, max_trace)
        self.lowest = self.current
        self._epoch = 0
        self._in_flight = 0
        self._hold_until = 0.0
        self._start = time.monotonic()
        self._changed: asyncio.Condition | None = None

    @property
    def current(self) -> int:
        return max(1, int(self.limit))

    async def acquire(self) -> Ticket:
        """Wait for a free slot under the current limit (and past any Retry-After hold)."""
        if self._changed is None:
            self._changed = asyncio.Condition()
        async with self._changed:
            while True:
                wait = self._hold_until - time.monotonic()
                if wait > 0:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), timeout=wait)
                    continue
                if self._in_flight < self.current:
                    break
                await self._changed.wait()
            self._in_flight += 1
            return Ticket(self._epoch)

    async def release(self, ticket: Ticket, rate_limited: bool = False, ok: bool = False,
                      retry_after: float | None = None) -> None:
        """Free the slot; a 429 (``rate_limited``) cuts the limit, a success (``ok``) raises it a little."""
        assert self._changed is not None
        async with self._changed:
            self._in_flight -= 1
            if rate_limited:
                self.rate_limited += 1
                if retry_after and self.adaptive:
                    self._hold_until = max(self._hold_until, time.monotonic() + retry_after)
                if self.adaptive and ticket.epoch == self._epoch:
                    self._epoch += 1
                    self._slow_start = False
                    self._set(max(1.0, self.limit * self.decrease))
            elif ok and self.adaptive and self.limit < self.maximum:
                step = self.slow_start_step if self._slow_start else self.increase / self.limit
                self._set(min(float(self.maximum), self.limit + step))
            self._changed.notify_all()

    def _set(self, limit: float) -> None:
        before = self.current
        self.limit = limit
        self.lowest = min(self.lowest, self.current)
        if self.current != before:
            self.trace.append((round(time.monotonic() - self._start, 3), self.current))
            if len(self.trace) > self._max_trace:  # keep the first point and every other one after it
                self.trace = self.trace[:1] + self.trace[2::2]

    def as_dict(self) -> dict[str, object]:
        return {"adaptive": self.adaptive, "max_concurrency": self.maximum, "final_concurrency": self.current,
                "min_concurrency": self.lowest, "rate_limited": self.rate_limited,
                "trace": [list(point) for point in self.trace]}
