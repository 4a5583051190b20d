"""``--batch``: answer requests through a provider's batch API (OpenAI's /v1/files + /v1/batches), at
its discount, and resumably.

Requests are written as JSONL input files (``custom_id`` = the request key) in chunks within the
provider's limits, uploaded, and submitted as batches. Each batch id is journaled (table ``batches`` of
the run's journal SQLite) the moment the provider returns it, so a killed run started again polls the
batches it already paid for instead of submitting them again; a request that is journaled, cached or
inside a journaled batch is never submitted. Batches are polled with backoff; each output line is
matched back by ``custom_id`` and journaled like any result. Lines that failed (5xx, 429, malformed) or
expired, and every request of a batch that failed as a whole, are retried: in a new batch, or online
through the executor's concurrent path (``retry_online``). A 4xx line errors its sample.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from evalkit.backends.base import BatchAPIBackend, BatchState, RequestError
from evalkit.execution.cost import Reservation
from evalkit.types import Request, Result

if TYPE_CHECKING:
    from evalkit.execution.executor import Executor, Outcome, ProgressHook

OPENAI_MAX_REQUESTS = 50_000  # per batch input file
OPENAI_MAX_BYTES = 200 * 1024 * 1024
TERMINAL = ("completed", "expired", "failed", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    input_file_id TEXT NOT NULL,
    keys TEXT NOT NULL,
    state TEXT NOT NULL,
    created REAL NOT NULL
)
"""


@dataclass
class BatchOptions:
    retry_online: bool = False  # failed/expired lines: online (True) or in a new batch (False)
    poll_seconds: float = 5.0  # first wait between polls; ×1.5 each poll, at most poll_max
    poll_max: float = 60.0
    max_requests: int = OPENAI_MAX_REQUESTS
    max_bytes: int = OPENAI_MAX_BYTES
    max_rounds: int = 7  # batches one request may go through before it is errored (--max-retries + 1)


@dataclass
class TrackedBatch:
    batch_id: str
    endpoint: str
    keys: list[str]
    round: int = 0
    state: BatchState | None = None


class BatchJournal:
    """The batches a run has submitted, in the run's journal file: written before anything else happens."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def record(self, batch_id: str, backend: str, endpoint: str, input_file_id: str, keys: list[str]) -> None:
        with self._lock:
            self._db.execute("INSERT INTO batches VALUES (?, ?, ?, ?, ?, 'submitted', ?)",
                             (batch_id, backend, endpoint, input_file_id, json.dumps(keys), time.time()))

    def open_batches(self, backend: str) -> list[TrackedBatch]:
        with self._lock:
            rows = self._db.execute("SELECT batch_id, endpoint, keys FROM batches WHERE backend = ? AND state = "
                                    "'submitted' ORDER BY created", (backend,)).fetchall()
        return [TrackedBatch(batch_id, endpoint, json.loads(keys)) for batch_id, endpoint, keys in rows]

    def close_batch(self, batch_id: str, state: str) -> None:
        with self._lock:
            self._db.execute("UPDATE batches SET state = ? WHERE batch_id = ?", (state, batch_id))

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM batches").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def chunk_lines(lines: list[tuple[str, bytes]], max_requests: int, max_bytes: int) -> list[list[tuple[str, bytes]]]:
    """Split (key, JSONL line) pairs into input files within the provider's request and size limits."""
    chunks: list[list[tuple[str, bytes]]] = []
    current: list[tuple[str, bytes]] = []
    size = 0
    for key, line in lines:
        if current and (len(current) >= max_requests or size + len(line) > max_bytes):
            chunks.append(current)
            current, size = [], 0
        current.append((key, line))
        size += len(line)
    if current:
        chunks.append(current)
    return chunks


@dataclass
class _Pending:
    request: Request
    held: Reservation | None = None  # None: not reserved (e.g. in a batch an earlier run submitted)
    rounds: int = 0
    last_error: str = ""


@dataclass
class BatchDriver:
    """One executor round through the batch API (see the module docstring)."""

    executor: Executor
    backend: BatchAPIBackend
    options: BatchOptions
    batches: BatchJournal
    sleep: Callable[[float], Awaitable[object]] = field(default=asyncio.sleep)

    async def run(self, work: list[tuple[str, Request]], outcomes: dict[str, Outcome], progress: ProgressHook) -> None:
        from evalkit.execution.executor import NOT_SENT, Outcome

        identity = self.backend.identity
        pending = {key: _Pending(request) for key, request in work}
        tracked = [b for b in self.batches.open_batches(identity)]  # paid for by an earlier, killed run
        in_flight = {key for b in tracked for key in b.keys}
        to_submit = [key for key in pending if key not in in_flight]
        online: list[str] = []
        delay = self.options.poll_seconds
        while to_submit or tracked:
            to_submit = await self._submit(to_submit, pending, tracked)
            if not tracked:
                break
            await self.sleep(delay)
            delay = min(self.options.poll_max, delay * 1.5)
            for batch in list(tracked):
                batch.state = await self.backend.retrieve_batch(batch.batch_id)
                if batch.state.status not in TERMINAL:
                    continue
                tracked.remove(batch)
                retry = await self._collect(batch, pending, outcomes, progress)
                self.batches.close_batch(batch.batch_id, batch.state.status)
                (online if self.options.retry_online else to_submit).extend(retry)
                delay = self.options.poll_seconds
        for key in to_submit:  # the budget was reached before they could be sent
            outcomes[key] = Outcome(result=None, error=NOT_SENT)
        if online:
            await self._online(online, pending, outcomes, progress)

    async def _submit(self, keys: list[str], pending: dict[str, _Pending], tracked: list[TrackedBatch]) -> list[str]:
        """Write, upload and create batches for ``keys`` (those the budget has room for); returns the rest."""
        if not keys:
            return []
        meter = self.executor.meter
        by_endpoint: dict[str, list[tuple[str, bytes]]] = {}
        left: list[str] = []
        for key in keys:
            item = pending[key]
            if item.held is None:
                item.held = meter.reserve_now(item.request, waiting_possible=bool(tracked))
                if item.held is None:
                    left.append(key)
                    continue
            path, body = self.backend.request_body(item.request)
            endpoint = "/v1" + path
            line = json.dumps({"custom_id": key, "method": "POST", "url": endpoint, "body": body},
                              ensure_ascii=False).encode("utf-8") + b"\n"
            by_endpoint.setdefault(endpoint, []).append((key, line))
        for endpoint, lines in by_endpoint.items():
            for chunk in chunk_lines(lines, self.options.max_requests, self.options.max_bytes):
                file_id = await self.backend.upload_batch_file(b"".join(line for _, line in chunk))
                batch_id = await self.backend.create_batch(file_id, endpoint)
                chunk_keys = [key for key, _ in chunk]
                self.batches.record(batch_id, self.backend.identity, endpoint, file_id, chunk_keys)  # before anything else
                self.executor.stats.model_calls += len(chunk_keys)
                self.executor.stats.batches += 1
                tracked.append(TrackedBatch(batch_id, endpoint, chunk_keys))
        return left

    async def _collect(self, batch: TrackedBatch, pending: dict[str, _Pending], outcomes: dict[str, Outcome],
                       progress: ProgressHook) -> list[str]:
        """Journal a finished batch's results; returns the keys to ask again."""
        from evalkit.execution.executor import Outcome

        state = batch.state
        assert state is not None
        seen: set[str] = set()
        failures: dict[str, tuple[bool, str]] = {}  # key → (retryable, why)
        for file_id in (state.output_file_id, state.error_file_id):
            if not file_id:
                continue
            for raw in (await self.backend.file_content(file_id)).splitlines():
                if not raw.strip():
                    continue
                line = json.loads(raw)
                key = str(line.get("custom_id"))
                seen.add(key)
                result, failure = self._read_line(key, line, pending)
                if result is not None:
                    await self._record(key, result, pending, outcomes, progress)
                elif failure is not None:
                    failures[key] = failure
        why_all = "; ".join(state.errors) or f"batch {state.status}"
        for key in batch.keys:
            if key not in seen:  # a batch failed (or was cancelled) as a whole
                failures[key] = (True, f"batch {batch.batch_id} {state.status}: {why_all}")
        retry = []
        for key, (retryable, why) in failures.items():
            item = pending.get(key)
            if item is None or key in outcomes:
                continue
            item.rounds += 1
            item.last_error = why
            if retryable and item.rounds < self.options.max_rounds:
                retry.append(key)
                continue
            await self.executor.meter.settle(item.request, item.held, None)
            self.executor.stats.errors += 1
            prefix = "request rejected" if not retryable else f"failed after {item.rounds} batches"
            outcomes[key] = Outcome(result=None, error=f"{prefix}: {why}")
            progress(1, 0, 1)
        return retry

    def _read_line(self, key: str, line: dict, pending: dict[str, _Pending]) -> tuple[Result | None, tuple[bool, str] | None]:
        item = pending.get(key)
        error = line.get("error")
        response = line.get("response") or {}
        if error:
            return None, (True, f"{error.get('code')}: {error.get('message')}")
        status = int(response.get("status_code") or 0)
        if status != 200:
            message = ((response.get("body") or {}).get("error") or {}).get("message", "")
            retryable = status == 429 or status >= 500 or status == 408
            return None, (retryable, f"HTTP {status}: {message}")
        if item is None:
            return None, None
        try:
            return self.backend.parse_reply(item.request, response["body"]), None
        except RequestError as exc:
            return None, (False, str(exc))
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            return None, (True, f"malformed response body: {type(exc).__name__}")

    async def _record(self, key: str, result: Result, pending: dict[str, _Pending], outcomes: dict[str, Outcome],
                      progress: ProgressHook) -> None:
        from evalkit.execution.executor import Outcome

        item = pending.get(key)
        if item is None or key in outcomes:
            return
        meter = self.executor.meter
        cost = meter.cost(result.usage, batch=True)
        self.executor._persist(key, result, cost)  # journaled before it is charged
        await meter.settle(item.request, item.held, result.usage, batch=True)
        outcomes[key] = Outcome(result=result, cost_usd=cost)
        progress(1, result.usage.prompt_tokens + result.usage.completion_tokens, 0)

    async def _online(self, keys: list[str], pending: dict[str, _Pending], outcomes: dict[str, Outcome],
                      progress: ProgressHook) -> None:
        """Ask the requests a batch could not answer one by one, at the online price."""
        for key in keys:
            item = pending[key]
            if item.held is not None:
                await self.executor.meter.settle(item.request, item.held, None)
                item.held = None
        await self.executor._run_concurrent([(key, pending[key].request) for key in keys], outcomes, progress)
