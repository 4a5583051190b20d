"""The backend seam: what every model provider implements.

Two shapes exist because providers differ: API backends answer one request at a time and are
driven concurrently (``call``); local backends are fastest in batches (``call_batch``, which yields
results as each batch finishes and runs in a worker thread). The executor picks from ``is_batched``. A backend whose answers are looked up per sample rather than
computed (a predictions file) sets ``is_lookup``: the executor then keys each request by the sample that
asked (``Request.ref``) as well, keeps its answers out of the shared cache, and counts no model calls.

Errors a backend raises from ``call``:
    RetryableError   transient (429, 5xx, timeout, dropped connection, malformed body): retried
    RequestError     this request cannot succeed (e.g. 400 context too long): the sample is errored
    BackendError     nothing can succeed (401, unknown model, unreachable): the run stops, exit 2
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from evalkit.errors import BackendError
from evalkit.types import Request, Result


class RetryableError(Exception):
    """A transient failure worth retrying, with the server's Retry-After when it sent one.

    ``rate_limited`` marks a 429: the executor lowers its concurrency for the whole run on a run of them."""

    def __init__(self, message: str, retry_after: float | None = None, rate_limited: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.rate_limited = rate_limited


class RequestError(Exception):
    """A failure specific to one request that retrying cannot fix."""


@runtime_checkable
class Backend(Protocol):
    identity: str  # endpoint + model (+ anything that changes answers); part of every cache key
    name: str  # the model as the user wrote it, for reports
    is_batched: bool
    supports_loglikelihood: bool
    prefers_loglikelihood: bool  # default mode for multiple-choice benchmarks
    is_lookup: bool  # answers are looked up by ``Request.ref`` (predictions), not computed from the prompt
    billing_model: str | None  # the model's name in a price list; None for local models (no per-token price)

    async def call(self, request: Request) -> Result:
        """Answer one request (API backends)."""
        ...

    def call_batch(self, requests: list[Request]) -> Iterator[tuple[int, Result | RequestError]]:
        """Answer many requests, yielding (index, result) as batches finish (local backends); a request
        that cannot be answered (too long, untokenisable, over the batch time limit) yields its
        ``RequestError`` instead, and the executor errors that sample only."""
        ...

    def describe(self) -> dict[str, object]:
        """Config for the manifest — never secrets."""
        ...

    async def aclose(self) -> None:
        """Release connections or memory."""
        ...


class BatchedAnswers(Protocol):
    name: str

    def call_batch(self, requests: list[Request]) -> Iterator[tuple[int, Result | RequestError]]: ...


def answer_one(backend: BatchedAnswers, request: Request) -> Result:
    """``call`` for a batched backend: one request through its ``call_batch``."""
    for _, result in backend.call_batch([request]):
        if isinstance(result, RequestError):
            raise result
        return result
    raise BackendError(f"{backend.name} answered nothing for a request")


@dataclass(frozen=True)
class BatchState:
    """A provider batch as last retrieved: ``status`` is validating | in_progress | finalizing |
    completed | expired | failed | cancelling | cancelled."""

    status: str
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: tuple[str, ...] = ()  # why a batch failed as a whole


@runtime_checkable
class BatchAPIBackend(Protocol):
    """An endpoint with a batch API (OpenAI's /v1/files + /v1/batches): requests written as JSONL lines,
    answered within hours at a discount. Errors are raised as from ``Backend.call``."""

    identity: str

    def request_body(self, request: Request) -> tuple[str, dict[str, Any]]:
        """(path under the base URL, JSON body) asking ``request``, as a batch line's url and body."""
        ...

    def parse_reply(self, request: Request, body: dict[str, Any]) -> Result:
        """The result in a reply body (malformed: ValueError/KeyError/TypeError)."""
        ...

    async def upload_batch_file(self, content: bytes) -> str:
        ...

    async def create_batch(self, input_file_id: str, endpoint: str) -> str:
        ...

    async def retrieve_batch(self, batch_id: str) -> BatchState:
        ...

    async def file_content(self, file_id: str) -> bytes:
        ...
