"""Drive a backend over many requests: dedupe, cache, bounded concurrency, retries, journaling.

Every result is written to the run's journal (and the shared cache) the moment it arrives, before
any scoring, so a killed run loses nothing and a re-run repeats no completed call. A lookup backend
(``Backend.is_lookup``: a predictions file) computes nothing, so nothing of it is journaled or cached.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from evalkit.backends.base import Backend, BatchAPIBackend, RequestError, RetryableError
from evalkit.errors import BudgetReached, ConfigError, EvalkitError
from evalkit.execution.adaptive import ConcurrencyController
from evalkit.execution.batch_api import BatchDriver, BatchJournal, BatchOptions
from evalkit.execution.cost import CostMeter
from evalkit.execution.ratelimit import RateLimiter
from evalkit.execution.store import ResponseStore
from evalkit.types import Outcome, Request, Result, request_key

__all__ = ["ExecutionStats", "Executor", "Outcome", "RetryPolicy"]

NOT_SENT = "not sent: the run's budget was reached"


@dataclass
class ExecutionStats:
    requests: int = 0  # distinct requests asked for
    model_calls: int = 0  # attempts that reached the backend (retries included)
    cache_hits: int = 0
    retries: int = 0
    rate_limited: int = 0  # attempts answered 429
    batches: int = 0  # provider batches submitted (--batch)
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0  # included in completion_tokens
    wall_seconds: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


@dataclass
class RetryPolicy:
    max_retries: int = 6
    timeout: float = 120.0
    base_delay: float = 0.5
    max_delay: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter; never sooner than the server's Retry-After."""
        backoff = min(self.max_delay, self.base_delay * 2**attempt) * self.rng.uniform(0.5, 1.0)
        return max(backoff, retry_after or 0.0)


async def in_worker_thread(function: Callable[..., None], *args: object, stop: threading.Event) -> None:
    """Run ``function`` in a worker thread and wait for it. On an interrupt ``stop`` is set at once, so the
    thread records nothing more and returns at the next answer the backend yields (a local model's batch
    loop), instead of running the whole remaining plan while the process waits to exit."""
    try:
        await asyncio.to_thread(function, *args)
    finally:
        stop.set()


ProgressHook = Callable[[int, int, int], None]  # (n_done, tokens, n_errors)


class Executor:
    def __init__(
        self,
        backend: Backend,
        journal: ResponseStore | None,
        cache: ResponseStore | None = None,
        concurrency: int = 32,
        requests_per_minute: float | None = None,
        policy: RetryPolicy | None = None,
        meter: CostMeter | None = None,
        adaptive: bool = True,
        batch: BatchOptions | None = None,
    ) -> None:
        self.backend = backend
        self.journal = None if backend.is_lookup else journal  # a looked-up answer is no model call:
        self.cache = None if backend.is_lookup else cache  # nothing to keep or share
        self.concurrency = concurrency
        self.limiter = RateLimiter(requests_per_minute)
        self.policy = policy or RetryPolicy()
        self.stats = ExecutionStats()
        self.meter = meter or CostMeter(None)
        self.controller = ConcurrencyController(concurrency, adaptive=adaptive)
        self.batch = batch

    def progress_text(self, remaining: int) -> str:
        """Spend so far, projected total and current concurrency, for the progress line."""
        spend = self.meter.spend
        if spend.cost_usd is None:
            money = f"{spend.tokens:,} tokens (no price)"
        else:
            money = f"${spend.cost_usd:.4f} spent ~${self.meter.projected_usd(remaining) or 0.0:.4f} total"
        retries = f"  retries {self.stats.retries}" if self.stats.retries else ""
        return f"{money}  conc {self.controller.current}/{self.controller.maximum}{retries}"

    _stop: threading.Event

    async def run(self, requests: list[Request], on_progress: ProgressHook | None = None,
                  on_cached: Callable[[int], None] | None = None) -> list[Outcome]:
        """Answer every request; the list returned is aligned with ``requests``."""
        started = time.monotonic()
        self._stop = threading.Event()
        progress = on_progress or (lambda n, t, e: None)
        lookup = self.backend.is_lookup  # answers depend on who asked, and are not worth sharing
        keys = [request_key(self.backend.identity, r, by_sample=lookup) for r in requests]
        unique: dict[str, Request] = dict(zip(keys, requests))
        self.stats.requests += len(unique)
        outcomes = self._lookup(list(unique))
        self.stats.cache_hits += len(outcomes)
        if outcomes:
            (on_cached or (lambda n: progress(n, 0, 0)))(len(outcomes))
        missing = [(k, unique[k]) for k in unique if k not in outcomes]
        if self.backend.is_batched:
            await in_worker_thread(self._run_batched, missing, outcomes, progress, stop=self._stop)
        elif self.batch is not None and missing:
            await self._run_batch_api(missing, outcomes, progress)
        else:
            await self._run_concurrent(missing, outcomes, progress)
        self.stats.wall_seconds += time.monotonic() - started
        unsent = sum(1 for o in outcomes.values() if o.error == NOT_SENT)
        if unsent:
            budget = self.meter.budget
            spent = f"${budget.spent_usd:.4f}" if budget.max_cost is not None else f"{budget.spent_tokens:,} tokens"
            limit = (f"--max-cost {budget.max_cost:g}" if budget.max_cost is not None
                     else f"--max-tokens-total {budget.max_tokens}")
            raise BudgetReached(f"budget reached: {spent} spent of {limit}; {unsent} of {len(unique)} requests not sent "
                                "(every answered one is journaled): run the same command with a higher budget to resume")
        return [outcomes[k] for k in keys]

    async def _run_batch_api(
        self, work: list[tuple[str, Request]], outcomes: dict[str, Outcome], progress: ProgressHook
    ) -> None:
        if not isinstance(self.backend, BatchAPIBackend):
            raise ConfigError(f"--batch needs an endpoint with a batch API (/v1/files + /v1/batches); "
                              f"{self.backend.name} has none")
        assert self.batch is not None and self.journal is not None  # a batch API is no lookup backend
        batches = BatchJournal(self.journal.path)
        try:
            await BatchDriver(self, self.backend, self.batch, batches).run(work, outcomes, progress)
        finally:
            batches.close()

    def _lookup(self, keys: list[str]) -> dict[str, Outcome]:
        if self.journal is None:
            return {}
        found = self.journal.get_many(keys)
        if self.cache is not None:
            rest = [k for k in keys if k not in found]
            from_cache = self.cache.get_many(rest)
            for key, result in from_cache.items():
                self.journal.put(key, self.backend.identity, result)
            found.update(from_cache)
        return {k: Outcome(result=r, cached=True, cost_usd=0.0) for k, r in found.items()}

    def _persist(self, key: str, result: Result, paid_usd: float | None = None) -> None:
        tokens = result.usage.prompt_tokens + result.usage.completion_tokens
        if self.journal is not None:
            self.journal.put(key, self.backend.identity, result, paid_usd, tokens)
        if self.cache is not None:
            self.cache.put(key, self.backend.identity, result)
        self.stats.prompt_tokens += result.usage.prompt_tokens
        self.stats.completion_tokens += result.usage.completion_tokens
        self.stats.reasoning_tokens += result.usage.reasoning_tokens

    async def _run_concurrent(
        self, work: list[tuple[str, Request]], outcomes: dict[str, Outcome], progress: ProgressHook
    ) -> None:
        queue: asyncio.Queue[tuple[str, Request]] = asyncio.Queue()
        for item in work:
            queue.put_nowait(item)

        async def worker() -> None:
            while True:
                try:
                    key, request = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                held = await self.meter.reserve(request)
                if held is None:  # the budget is reached: this request is not sent
                    outcomes[key] = Outcome(result=None, error=NOT_SENT)
                    continue
                outcome = await self._call_with_retries(request)
                result = outcome.result
                if result is not None:
                    outcome = dataclasses.replace(outcome, cost_usd=self.meter.cost(result.usage))
                    self._persist(key, result, outcome.cost_usd)  # journaled before it is charged
                    tokens = result.usage.prompt_tokens + result.usage.completion_tokens
                else:
                    self.stats.errors += 1
                    tokens = 0
                await self.meter.settle(request, held, outcome.result.usage if outcome.result else None)
                outcomes[key] = outcome
                progress(1, tokens, 0 if outcome.result is not None else 1)

        workers = [asyncio.create_task(worker()) for _ in range(max(1, min(self.concurrency, len(work))))]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise

    async def _call_with_retries(self, request: Request) -> Outcome:
        policy = self.policy
        last_error = "no attempt made"
        for attempt in range(policy.max_retries + 1):
            await self.limiter.acquire()
            ticket = await self.controller.acquire()
            self.stats.model_calls += 1
            try:
                result = await asyncio.wait_for(self.backend.call(request), timeout=policy.timeout)
            except RequestError as exc:
                await self.controller.release(ticket)
                return Outcome(result=None, error=f"request rejected: {exc}")
            except (RetryableError, asyncio.TimeoutError) as exc:
                retry_after = exc.retry_after if isinstance(exc, RetryableError) else None
                rate_limited = isinstance(exc, RetryableError) and exc.rate_limited
                self.stats.rate_limited += rate_limited
                await self.controller.release(ticket, rate_limited=rate_limited, retry_after=retry_after)
                last_error = str(exc) or f"timed out after {policy.timeout:g}s"
                if attempt == policy.max_retries:
                    break
                self.stats.retries += 1
                await asyncio.sleep(policy.delay(attempt, retry_after))
                continue
            except BaseException:
                await self.controller.release(ticket)
                raise
            await self.controller.release(ticket, ok=True)
            return Outcome(result=result)
        return Outcome(result=None, error=f"failed after {policy.max_retries + 1} attempts: {last_error}")

    def _run_batched(
        self, work: list[tuple[str, Request]], outcomes: dict[str, Outcome], progress: ProgressHook
    ) -> None:
        """Local batches: an item the backend rejects (``RequestError``) errors that sample; an exception
        that breaks a whole batch is isolated by re-asking the unanswered items in halves, so only the item
        that raises is errored and the rest still run batched. An ``EvalkitError`` (nothing can work: no backend, a file that lacks ids) stops."""
        if not work:
            return
        if not self.backend.is_lookup:  # looking an answer up calls no model
            self.stats.model_calls += len(work)
        self._answer_isolated(work, outcomes, progress)

    def _answer_isolated(
        self, work: list[tuple[str, Request]], outcomes: dict[str, Outcome], progress: ProgressHook
    ) -> None:
        for key, result in answer_isolated(self.backend, work):
            if self._stop.is_set():  # interrupted: what is journaled stays, nothing more is recorded
                return
            self._record_batched(key, result, outcomes, progress)

    def _record_batched(self, key: str, result: Result | RequestError, outcomes: dict[str, Outcome],
                        progress: ProgressHook) -> None:
        if isinstance(result, RequestError):
            self.stats.errors += 1
            outcomes[key] = Outcome(result=None, error=f"request rejected: {result}")
            progress(1, 0, 1)
            return
        self._persist(key, result)
        outcomes[key] = Outcome(result=result, cost_usd=self.meter.cost(result.usage))
        progress(1, result.usage.prompt_tokens + result.usage.completion_tokens, 0)


def answer_isolated(backend: Backend, work: list[tuple[str, Request]]) -> Iterator[tuple[str, Result | RequestError]]:
    """(key, result or RequestError) for each item, batched. An exception that breaks a whole batch is
    isolated by re-asking the unanswered items in halves, so only the item that raises is errored and the
    rest still run batched. An ``EvalkitError`` (the run cannot go on) propagates. Shared by the local executor
    and the Ray executor's model replicas."""
    answered: set[int] = set()
    try:
        for index, result in backend.call_batch([r for _, r in work]):
            answered.add(index)
            yield work[index][0], result
    except EvalkitError:  # the run cannot go on (backend gone, a predictions file that lacks ids)
        raise
    except Exception as exc:  # noqa: BLE001 - one bad item must not lose the run
        rest = [item for i, item in enumerate(work) if i not in answered]
        if len(work) == 1:
            yield work[0][0], RequestError(f"{type(exc).__name__}: {exc}")
        elif answered:  # progress was made: the rest as one batch again
            yield from answer_isolated(backend, rest)
        else:  # nothing came back: halve until the item that raises stands alone
            half = len(rest) // 2
            yield from answer_isolated(backend, rest[:half])
            yield from answer_isolated(backend, rest[half:])
