"""The Ray executor's plain-Python parts, without a cluster: the shard queue, the global limiter, the flags."""

from __future__ import annotations

import asyncio
import time

import pytest
from helpers import run_cli

from evalkit.execution.ray_limiter import ForgottenOwner, GlobalLimiter
from evalkit.execution.shards import ShardQueue
from evalkit.testing.ray_cluster import busiest_window


def test_shards_are_pulled_and_a_lost_shard_is_redone_first():
    async def go() -> list[list[str]]:
        queue = ShardQueue([f"k{i}" for i in range(7)], shard_size=3)
        first = await queue.take()
        second = await queue.take()
        await queue.give_back(first[1:])  # the worker answered k0, then was lost
        taken = [second, await queue.take(), await queue.take()]
        for _ in taken:
            await queue.finish()
        assert await queue.take() is None and queue.given_back == 1
        return taken

    assert asyncio.run(go()) == [["k3", "k4", "k5"], ["k1", "k2"], ["k6"]]


def test_take_waits_for_shards_that_may_come_back():
    async def go() -> list[str] | None:
        queue = ShardQueue(["a", "b"], shard_size=2)
        out = await queue.take()
        waiter = asyncio.ensure_future(queue.take())  # nothing queued, but a shard is out: wait, do not end
        await asyncio.sleep(0.05)
        assert not waiter.done()
        await queue.give_back(out)
        return await waiter

    assert asyncio.run(go()) == ["a", "b"]


def test_limiter_spaces_requests_across_callers():
    limiter = GlobalLimiter(requests_per_minute=600, tokens_per_minute=None, concurrency=64, safety=1.0)

    async def go() -> list[float]:
        starts: list[float] = []

        async def call(owner: str) -> None:
            await limiter.acquire(0, owner)
            starts.append(time.time())
            await limiter.release(owner)

        await asyncio.gather(*(call(f"worker{i % 3}") for i in range(21)))
        return starts

    starts = asyncio.run(go())
    assert max(starts) - min(starts) == pytest.approx(2.0, abs=0.25)  # 10/s: 21 starts span 2 s
    assert busiest_window(starts) <= 11


def test_limiter_halves_concurrency_on_429_and_pauses_everyone():
    limiter = GlobalLimiter(requests_per_minute=None, tokens_per_minute=None, concurrency=8)

    async def go() -> float:
        await limiter.acquire(0, "w")
        await limiter.release("w", rate_limited=True, retry_after=0.3)
        assert limiter.limit == 4
        started = time.monotonic()
        await limiter.acquire(0, "other")  # another worker waits out the Retry-After too
        return time.monotonic() - started

    assert asyncio.run(go()) >= 0.25


def test_limiter_tokens_per_minute_and_forgotten_slots():
    limiter = GlobalLimiter(requests_per_minute=None, tokens_per_minute=6000, concurrency=1, safety=1.0)

    async def go() -> float:
        await limiter.acquire(50, "dead")  # holds the only slot, and 50 tokens = 0.5 s of budget
        blocked = asyncio.ensure_future(limiter.acquire(0, "alive"))
        await asyncio.sleep(0.05)
        assert not blocked.done()
        started = time.monotonic()
        await limiter.forget("dead")  # its process died: the slot is freed, the token debt stays
        await blocked
        await limiter.release("dead")  # a late release from the dead owner frees nothing twice
        assert limiter._in_flight == 1
        return time.monotonic() - started

    assert asyncio.run(go()) >= 0.4


def test_a_lost_shards_queued_calls_are_refused_not_granted():
    """Ray still runs the acquires a killed worker had queued at the limiter (checked by hand: all 10 queued by
    a SIGKILLed caller were granted). Granted, each would hold a slot nobody frees; refused, the living go on."""
    limiter = GlobalLimiter(requests_per_minute=None, tokens_per_minute=None, concurrency=2)

    async def go() -> None:
        await limiter.acquire(0, "lost")
        await limiter.acquire(0, "lost")
        queued = [asyncio.ensure_future(limiter.acquire(0, "lost")) for _ in range(3)]  # waiting before "alive"
        alive = asyncio.ensure_future(limiter.acquire(0, "alive"))
        await asyncio.sleep(0.05)
        await limiter.forget("lost")
        await asyncio.wait_for(alive, 2)
        refused = await asyncio.gather(*queued, return_exceptions=True)
        assert all(isinstance(result, ForgottenOwner) for result in refused), refused
        with pytest.raises(ForgottenOwner):
            await limiter.acquire(0, "lost")  # a late call of the lost shard
        await asyncio.wait_for(limiter.acquire(0, "alive"), 2)  # the second slot is free too
        assert limiter._in_flight == 2

    asyncio.run(go())


@pytest.mark.parametrize("args, message", [
    (["--replicas", "2"], "--replicas only apply with --executor ray"),
    (["--executor", "dask"], "--executor must be local or ray"),
    (["--executor", "ray", "--replicas", "0"], "--replicas must be at least 1"),
    (["--executor", "ray", "--tpm", "-5"], "--tpm must be positive"),
    (["--shard-timeout", "30"], "--shard-timeout only apply with --executor ray"),
    (["--executor", "ray", "--shard-timeout", "0"], "--shard-timeout must be a positive number of seconds"),
    (["--executor", "ray", "--shard-timeout", "nan"], "--shard-timeout must be a positive number of seconds"),
    (["--executor", "ray", "--shard-timeout", "30"], "--shard-timeout 30 is not longer than --timeout 120"),
    (["--executor", "ray", "--batch"], "a Ray cluster cannot speed up: drop --executor ray"),
])
def test_bad_executor_flags_are_one_line_and_exit_2(args, message):
    proc = run_cli("run", "--model", "openai:x", "--base-url", "http://127.0.0.1:9/v1", "--benchmark", "gsm8k", *args)
    assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
