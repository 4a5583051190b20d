"""The driver's queue of small shards of request keys, pulled by workers (never pre-split).

A worker takes the next shard when it is free, so a slow worker never holds the run back; a worker
that is lost gives back the keys it had not answered, and another worker pulls them. ``take`` waits
while the queue is empty but shards are still out (one of them may come back); it returns None only
when every key is answered.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence


class ShardQueue:
    def __init__(self, keys: Sequence[str], shard_size: int) -> None:
        size = max(1, shard_size)
        self._queue: deque[list[str]] = deque(list(keys[i:i + size]) for i in range(0, len(keys), size))
        self._out = 0  # shards handed out and not yet finished or given back
        self._changed = asyncio.Condition()
        self.handed_out = 0
        self.given_back = 0

    @property
    def pending(self) -> int:
        """Shards waiting in the queue (not counting those out with a worker)."""
        return len(self._queue)

    async def take(self) -> list[str] | None:
        async with self._changed:
            while not self._queue and self._out:
                await self._changed.wait()
            if not self._queue:
                return None
            self._out += 1
            self.handed_out += 1
            return self._queue.popleft()

    async def drained(self) -> None:
        """Return once every key is answered (nothing queued, nothing out)."""
        async with self._changed:
            while self._queue or self._out:
                await self._changed.wait()

    async def finish(self) -> None:
        """The worker answered every key of the shard it took."""
        async with self._changed:
            self._out -= 1
            self._changed.notify_all()

    async def give_back(self, keys: Sequence[str]) -> None:
        """The worker was lost: its unanswered keys go to the front of the queue, for the next free worker."""
        async with self._changed:
            self._out -= 1
            if keys:
                self._queue.appendleft(list(keys))
                self.given_back += 1
            self._changed.notify_all()
