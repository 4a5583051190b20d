"""Adaptive concurrency (AIMD): back off as a whole on a run of 429s, creep back up on success.

A provider's rate limit is shared by every call of the run, so retrying each 429 on its own keeps the
client hammering a limit it has already hit. The controller keeps one concurrency limit for the run,
within ``[1, maximum]``. It starts at ``initial`` and grows ×1.5 per round trip (slow start: +0.5 per
success) until the first cut. A *run* of 429s (at least ``run_count`` among the last round trip's
answers, and at least ``run_share`` of them; a stray 429 is only retried) multiplies it by ``decrease``,
at most once per round trip (429s of calls sent before the cut do not count again), holds back every
new call for the 429's Retry-After, and then each success adds ``increase/limit`` (+1 every five round
trips: long cycles, so few 429s per request). The constants were chosen with
bench/adaptive_concurrency.py (docs/cost.md).
With ``adaptive=False`` the limit stays at ``maximum`` (fixed concurrency) and only the 429s are counted.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import time
from dataclasses import dataclass


@dataclass
class Ticket:
    """A slot held by one call: the epoch tells whether a 429 it meets is news (sent after the last cut)."""

    epoch: int


class ConcurrencyController:
    def __init__(self, maximum: int, adaptive: bool = True, decrease: float = 0.5, initial: int = 8,
                 slow_start_step: float = 0.5, increase: float = 0.2, max_trace: int = 256,
                 run_count: int = 2, run_share: float = 0.15, run_window: int = 20) -> None:
        self.maximum = max(1, maximum)
        self.adaptive = adaptive
        self.decrease = decrease
        self.slow_start_step = slow_start_step
        self.increase = increase
        self.run_count = run_count
        self.run_share = run_share
        self.run_window = run_window
        self._recent: collections.deque[bool] = collections.deque(maxlen=1024)
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
            if ticket.epoch == self._epoch:  # answers to calls sent before the last cut are old news
                self._recent.append(rate_limited)
            if rate_limited:
                self.rate_limited += 1
                if self.adaptive and ticket.epoch == self._epoch and self._is_a_run():
                    self._epoch += 1
                    self._recent.clear()
                    self._slow_start = False
                    self._set(max(1.0, self.limit * self.decrease))
                    if retry_after:
                        self._hold_until = max(self._hold_until, time.monotonic() + retry_after)
            elif ok and self.adaptive and self.limit < self.maximum:
                step = self.slow_start_step if self._slow_start else self.increase / self.limit
                self._set(min(float(self.maximum), self.limit + step))
            self._changed.notify_all()

    def _is_a_run(self) -> bool:
        """A run of 429s, not a stray one: at least ``run_count`` of the last round trip's answers (the last
        ``max(run_window, 2 × limit)``) and at least ``run_share`` of them."""
        size = max(self.run_window, 2 * self.current)
        hits = sum(itertools.islice(reversed(self._recent), size))
        return hits >= self.run_count and hits >= self.run_share * size  # a short history is not a run

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
