"""``none:WHY``: a backend that is never asked anything, for jobs whose data already holds every response.

A live judge audit (``evalkit bias --pairs``) judges pairs of given responses: the runner runs it as an
ordinary job whose kind asks the model nothing, so its model is this one. Asking it anything is a bug.
"""

from __future__ import annotations

from collections.abc import Iterator

from evalkit.config import BackendOptions
from evalkit.errors import BackendError
from evalkit.types import Request, Result


class NoModelBackend:
    """Answers nothing; says so if asked."""

    is_batched = False
    is_lookup = False
    billing_model = None  # nothing is asked, nothing is paid
    supports_loglikelihood = False
    prefers_loglikelihood = False

    def __init__(self, why: str) -> None:
        self.name = f"none:{why}"
        self.identity = "none"

    async def call(self, request: Request) -> Result:
        raise BackendError(f"{self.name} answers no requests, but one was asked: {request.prompt_text()[:60]!r}")

    def call_batch(self, requests: list[Request]) -> Iterator[tuple[int, Result]]:
        raise BackendError(f"{self.name} answers no requests, but {len(requests)} were asked")

    def describe(self) -> dict[str, object]:
        return {"note": "no model: the data holds every response"}

    async def aclose(self) -> None:
        return None


def create(name: str, options: BackendOptions) -> NoModelBackend:
    return NoModelBackend(name)
