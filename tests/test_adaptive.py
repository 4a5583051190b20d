"""Adaptive concurrency (AIMD) and the fake server's token-bucket rate limit, over real HTTP."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request

from helpers import run_cli

from evalkit.backends.openai_api import OpenAIBackend
from evalkit.execution.adaptive import ConcurrencyController
from evalkit.execution.executor import Executor, RetryPolicy
from evalkit.execution.store import ResponseStore
from evalkit.types import GenerateRequest


def _release_all(controller: ConcurrencyController, tickets, **kwargs) -> None:
    async def go():
        for ticket in tickets:
            await controller.release(ticket, **kwargs)

    asyncio.run(go())


def _acquire(controller: ConcurrencyController, n: int):
    async def go():
        return [await controller.acquire() for _ in range(n)]

    return asyncio.run(go())


def test_cuts_once_per_round_trip_and_grows_back_within_bounds():
    controller = ConcurrencyController(16, initial=16)
    tickets = _acquire(controller, 16)
    _release_all(controller, tickets[:10], rate_limited=True)  # a burst of 429s sent together: one cut
    assert controller.current == 8 and controller.rate_limited == 10
    _release_all(controller, tickets[10:], ok=True)  # additive increase: +1/5 per limit's worth of successes
    assert 8 < controller.limit < 9
    _release_all(controller, _acquire(controller, 1), rate_limited=True)  # a stray 429: retried, no cut
    assert controller.current == 8
    for _ in range(2):  # three sent after the cut: 15% of the last round trip's 20 answers, a run: cut again
        _release_all(controller, _acquire(controller, 1), rate_limited=True)
    assert controller.current == 4
    for _ in range(80):  # never below 1
        _release_all(controller, _acquire(controller, 1), rate_limited=True)
    assert controller.current == 1
    for _ in range(3000):
        _release_all(controller, _acquire(controller, 1), ok=True)
    assert controller.current == 16  # never above --concurrency
    assert controller.as_dict()["min_concurrency"] == 1 and len(controller.trace) <= 256


def test_slow_start_grows_by_half_per_success_until_the_first_429():
    controller = ConcurrencyController(64)
    assert controller.current == 8
    _release_all(controller, _acquire(controller, 8), ok=True)
    assert controller.current == 12  # ×1.5 per round trip


def test_stray_429s_among_successes_do_not_cut():
    controller = ConcurrencyController(32, initial=32)
    for _ in range(10):  # 1 in 16 answered 429 (under run_share), spread out
        for i in range(16):
            _release_all(controller, _acquire(controller, 1), rate_limited=(i == 7), ok=(i != 7))
    assert controller.current == 32 and controller.rate_limited == 10


def test_fixed_concurrency_counts_429s_but_never_moves():
    controller = ConcurrencyController(8, adaptive=False)
    _release_all(controller, _acquire(controller, 8), rate_limited=True, retry_after=5.0)
    assert controller.current == 8 and controller.rate_limited == 8
    start = time.monotonic()
    _acquire(controller, 1)  # no run-wide hold in fixed mode
    assert time.monotonic() - start < 1.0


def _post(server, body: dict, n: int) -> tuple[list[int], list[float]]:
    """POST the same chat body n times: the status codes, and the Retry-After of each 429."""
    codes, waits = [], []
    for _ in range(n):
        request = urllib.request.Request(f"{server.base_url}/chat/completions", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                codes.append(response.status)
        except urllib.error.HTTPError as exc:
            codes.append(exc.code)
            waits.append(float(exc.headers["Retry-After"]))
    return codes, waits


def test_fake_server_token_bucket_answers_429_with_retry_after(fake_server):
    server = fake_server("--rpm", "120", "--burst-seconds", "1")  # 2 per second, bucket of 2
    codes, waits = _post(server, {"model": "m", "messages": [{"role": "user", "content": "hi"}]}, 4)
    assert codes[:2] == [200, 200] and codes[2:] == [429, 429]
    assert all(0 < w <= 0.5 for w in waits)  # the time until the next token, at 2 per second
    assert server.stats()["rate_limited"] == 2


def test_tokens_per_minute_limit(fake_server):
    server = fake_server("--tpm", "600", "--burst-seconds", "1")  # 10 tokens per second
    # 2 prompt words + max_tokens 8 = 10 tokens each: the first fits the bucket, the second does not
    codes, _ = _post(server, {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "a b"}]}, 2)
    assert codes == [200, 429]


def _executor_run(server, tmp_path, adaptive: bool, n: int) -> Executor:
    executor = Executor(OpenAIBackend("fake", base_url=server.base_url), ResponseStore(tmp_path / f"{adaptive}.sqlite"),
                        concurrency=32, policy=RetryPolicy(max_retries=30, base_delay=0.05), adaptive=adaptive)
    requests = [GenerateRequest(messages=(("user", f"question {i}"),), max_tokens=8) for i in range(n)]

    async def go():
        try:
            return await executor.run(requests)
        finally:
            await executor.backend.aclose()

    outcomes = asyncio.run(go())
    assert all(o.result is not None for o in outcomes)
    return executor


def test_aimd_backs_off_where_fixed_concurrency_storms(tmp_path, fake_server):
    n = 60
    fixed_server = fake_server("--rpm", "1200", "--latency", "0.2")  # 20/s: the ideal is 3 s
    fixed = _executor_run(fixed_server, tmp_path, adaptive=False, n=n)
    adaptive_server = fake_server("--rpm", "1200", "--latency", "0.2")
    adaptive = _executor_run(adaptive_server, tmp_path, adaptive=True, n=n)
    fixed_429, adaptive_429 = fixed_server.stats()["rate_limited"], adaptive_server.stats()["rate_limited"]
    assert adaptive.stats.rate_limited == adaptive_429 and fixed.stats.rate_limited == fixed_429
    assert adaptive_429 * 3 < fixed_429  # the whole run backs off instead of each request alone
    assert adaptive_server.stats()["completed"] == n
    assert adaptive.controller.lowest < 32 and fixed.controller.lowest == 32


def test_manifest_records_429s_and_concurrency_trace(tmp_path, data_dir, fake_server):
    server = fake_server("--rpm", "1200", "--latency", "0.1")
    out = tmp_path / "run"
    proc = run_cli("run", "--model", "openai:fake", "--base-url", server.base_url, "--benchmark", "gsm8k",
                   "--limit", "40", "--data-dir", str(data_dir), "--out", str(out), "--concurrency", "32",
                   "--no-cache", "-q", "--max-retries", "30")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    trace = manifest["concurrency"]["evaluating"]
    assert trace["rate_limited"] == server.stats()["rate_limited"] == manifest["execution"]["rate_limited"]
    assert trace["max_concurrency"] == 32 and all(1 <= c <= 32 for _, c in trace["trace"])
