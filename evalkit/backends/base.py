"""The backend seam: what every model provider implements.

Two shapes exist because providers differ: API backends answer one request at a time and are
driven concurrently (``call``); local backends are fastest in batches (``call_batch``, which yields
results as each batch finishes and runs in a worker thread). The executor picks from ``is_batched``.

Errors a backend raises from ``call``:
    RetryableError   transient (429, 5xx, timeout, dropped connection, malformed body): retried
    RequestError     this request cannot succeed (e.g. 400 context too long): the sample is errored
    BackendError     nothing can succeed (401, unknown model, unreachable): the run stops, exit 2
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

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
