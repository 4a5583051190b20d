"""Executor behaviour against the real fake server: Retry-After, rate limit, timeouts, dedupe."""

from __future__ import annotations

import asyncio
import time

import pytest

from evalkit.backends.openai_api import OpenAIBackend
from evalkit.execution.executor import Executor, RetryPolicy
from evalkit.execution.ratelimit import RateLimiter
from evalkit.execution.store import ResponseStore
from evalkit.types import GenerateRequest


def _requests(n: int) -> list[GenerateRequest]:
    return [GenerateRequest(messages=(("user", f"question {i}"),), max_tokens=8) for i in range(n)]


def _run(executor: Executor, requests: list[GenerateRequest]):
    async def go():
        try:
            return await executor.run(requests)
        finally:
            await executor.backend.aclose()

    return asyncio.run(go())


def test_retry_after_is_honoured(tmp_path, fake_server):
    server = fake_server("--fault-rate", "1.0", "--faults", "429", "--retry-after", "1.5")
    executor = Executor(OpenAIBackend("fake", base_url=server.base_url), ResponseStore(tmp_path / "j.sqlite"),
                        policy=RetryPolicy(max_retries=1, base_delay=0.01))
    start = time.monotonic()
    (outcome,) = _run(executor, _requests(1))
    assert time.monotonic() - start >= 1.5  # waited as told, not the 0.01 s backoff
    assert outcome.result is None and "HTTP 429" in (outcome.error or "")
    assert server.stats()["requests"] == 2 and executor.stats.retries == 1


def test_hung_request_times_out_and_is_retried(tmp_path, fake_server):
    server = fake_server("--fault-rate", "1.0", "--faults", "hang")
    executor = Executor(OpenAIBackend("fake", base_url=server.base_url, timeout=0.5), ResponseStore(tmp_path / "j.sqlite"),
                        policy=RetryPolicy(max_retries=2, timeout=0.5, base_delay=0.01))
    start = time.monotonic()
    (outcome,) = _run(executor, _requests(1))
    assert time.monotonic() - start < 5
    assert outcome.result is None and "timed out" in (outcome.error or "")
    assert server.stats()["requests"] == 3


def test_identical_requests_are_asked_once_and_journaled(tmp_path, fake_server):
    server = fake_server()
    journal = ResponseStore(tmp_path / "j.sqlite")
    executor = Executor(OpenAIBackend("fake", base_url=server.base_url), journal)
    requests = _requests(5) * 3
    outcomes = _run(executor, requests)
    assert len(outcomes) == 15 and all(o.result is not None for o in outcomes)
    assert server.stats()["requests"] == 5 and len(journal) == 5


def test_rate_limiter_spaces_requests():
    limiter = RateLimiter(requests_per_minute=1200)  # one every 50 ms

    async def go() -> float:
        start = time.monotonic()
        await asyncio.gather(*(limiter.acquire() for _ in range(11)))
        return time.monotonic() - start

    assert asyncio.run(go()) == pytest.approx(0.5, abs=0.15)


def test_backoff_grows_and_respects_retry_after():
    policy = RetryPolicy(base_delay=0.5, max_delay=30)
    assert 0.25 <= policy.delay(0, None) <= 0.5
    assert 2.0 <= policy.delay(3, None) <= 4.0
    assert policy.delay(0, 7.0) == 7.0
    assert policy.delay(20, None) <= 30
