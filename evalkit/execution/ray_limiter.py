"""One rate limiter for the whole cluster (run as a single Ray actor by the Ray executor).

Every API call on every worker first ``acquire``s here and ``release``s after, so the limits hold for
the cluster, not per worker: request starts are spaced evenly (requests/min, never a burst), tokens
are paid for before a call (an estimate, corrected on release: tokens/min), and at most ``limit``
calls are in flight. A 429 halves ``limit`` and pauses every worker for the server's Retry-After;
the limit then grows back by one per ``limit`` successes (additive increase, multiplicative decrease).

Slots are held per *owner*: one shard as handed to one worker. When the driver loses a shard (its worker
died or hung) it ``forget``s the owner: the slots are freed and the owner is refused from then on. The
refusal matters: Ray still runs the calls a killed process had queued here, so without it every
``acquire`` the dead worker was waiting on would be granted later, to nobody, until the dead owned every
slot of the cluster and the run stalled.

The class is plain Python (no Ray import), so it can be tested and reasoned about on its own.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

DEFAULT_PAUSE = 1.0  # seconds every worker waits after a 429 that carried no Retry-After


class ForgottenOwner(Exception):
    """An ``acquire`` from an owner the driver has declared lost: the call must not be made."""


class GlobalLimiter:
    def __init__(self, requests_per_minute: float | None, tokens_per_minute: float | None, concurrency: int,
                 safety: float = 0.95) -> None:
        # ``safety`` < 1 leaves room for the jitter between a grant here and the request reaching the server
        # (a Ray call away, tens of ms on a loaded machine: at 0.98 one 1-second window once held 21 of 20)
        self._request_gap = 60.0 / (requests_per_minute * safety) if requests_per_minute else 0.0
        self._token_gap = 60.0 / (tokens_per_minute * safety) if tokens_per_minute else 0.0
        self.ceiling = max(1, concurrency)
        self.limit = self.ceiling
        self._in_flight = 0
        self._held: dict[str, int] = {}  # slots in flight per owner (a shard out with a worker)
        self._forgotten: set[str] = set()  # owners declared lost: their slots are free, their calls refused
        self._next_request = 0.0
        self._next_tokens = 0.0
        self._paused_until = 0.0
        self._successes = 0
        self._changed = asyncio.Condition()
        self.granted = 0
        self.rate_limited = 0
        self.lowest_limit = self.limit

    async def acquire(self, tokens: int = 0, owner: str = "") -> None:
        """Return when this call may start: a concurrency slot is free and its request/token slot has come."""
        async with self._changed:
            while self._in_flight >= self.limit and owner not in self._forgotten:
                await self._changed.wait()
            if owner in self._forgotten:
                raise ForgottenOwner(owner)
            self._in_flight += 1
            self._held[owner] = self._held.get(owner, 0) + 1
            self.granted += 1
            now = time.monotonic()
            start = max(now, self._next_request, self._next_tokens, self._paused_until)
            if self._request_gap:
                self._next_request = start + self._request_gap
            if self._token_gap:
                self._next_tokens = start + tokens * self._token_gap
        wait = start - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def release(self, owner: str = "", estimated_tokens: int = 0, used_tokens: int = 0,
                      rate_limited: bool = False, retry_after: float | None = None) -> None:
        """The call ended: free its slot, settle its tokens, and on a 429 slow the whole cluster down."""
        async with self._changed:
            if self._held.get(owner, 0) <= 0:
                return  # its owner was forgotten (declared lost) meanwhile: the slot is already free
            self._held[owner] -= 1
            if not self._held[owner]:
                del self._held[owner]
            self._in_flight -= 1
            now = time.monotonic()
            if self._token_gap and used_tokens != estimated_tokens:
                settled = self._next_tokens + (used_tokens - estimated_tokens) * self._token_gap
                self._next_tokens = max(settled, now) if used_tokens < estimated_tokens else settled
            if rate_limited:
                self.rate_limited += 1
                self.limit = max(1, self.limit // 2)
                self.lowest_limit = min(self.lowest_limit, self.limit)
                self._paused_until = max(self._paused_until, now + (retry_after or DEFAULT_PAUSE))
                self._successes = 0
            else:
                self._successes += 1
                if self.limit < self.ceiling and self._successes >= self.limit:
                    self.limit += 1
                    self._successes = 0
            self._changed.notify_all()

    async def forget(self, owner: str) -> None:
        """The owner's shard was lost: the slots it holds will never be released, so free them now, and
        refuse its calls still waiting here (or arriving late) rather than grant them slots nobody frees."""
        async with self._changed:
            self._forgotten.add(owner)
            self._in_flight -= self._held.pop(owner, 0)
            self._changed.notify_all()

    def snapshot(self) -> dict[str, Any]:
        return {"granted": self.granted, "rate_limited": self.rate_limited, "limit": self.limit,
                "lowest_limit": self.lowest_limit}


def estimate_tokens(prompt_text: str, max_tokens: int) -> int:
    """What a call may cost before it is made: ~4 characters a token for the prompt, plus the most it may
    generate. The limiter settles the difference with the usage the server reports."""
    return len(prompt_text) // 4 + max_tokens
