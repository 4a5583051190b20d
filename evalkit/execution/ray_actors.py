"""The workers of the Ray executor (run as Ray actors; plain classes here, wrapped by the executor).

``ReplicaWorker`` owns one local backend instance (an ``hf:`` model replica): it loads once and
answers many shards in batches. ``ApiWorker`` drives an API backend concurrently, every attempt
going through the one ``GlobalLimiter`` actor of the cluster. Both stream one ``Answer`` per request
as it is ready (a generator method), so the driver journals each result before it counts it, and a
worker lost mid-shard loses only the answers it had not yet streamed.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from evalkit.backends.base import Backend, RequestError, RetryableError
from evalkit.backends.factory import BackendOptions, create_backend
from evalkit.execution.executor import RetryPolicy, answer_isolated
from evalkit.execution.ray_limiter import estimate_tokens
from evalkit.types import GenerateRequest, Request, Result


@dataclass(frozen=True)
class Answer:
    """One request's outcome as a worker streams it back to the driver."""

    key: str
    result: Result | None
    error: str | None = None
    attempts: int = 1  # calls that reached the backend (retries included)


@dataclass(frozen=True)
class WorkerInfo:
    """Who a worker is, reported once it has loaded: the driver checks the identity against its own."""

    identity: str
    node_id: str
    node_ip: str
    pid: int


def _info(identity: str) -> WorkerInfo:
    import ray

    context = ray.get_runtime_context()
    try:
        ip = ray.util.get_node_ip_address()
    except Exception:  # noqa: BLE001 - the address is informative only
        ip = socket.gethostname()
    return WorkerInfo(identity=identity, node_id=context.get_node_id(), node_ip=ip, pid=os.getpid())


class ReplicaWorker:
    """A model replica: one backend instance, loaded in the actor's constructor. A ``vllm:`` replica inside
    a placement group is told how to spread its tensor-parallel ranks (``engine_backend``, ray_placement.py)."""

    def __init__(self, model: str | None, options: BackendOptions, engine_backend: str | None = None) -> None:
        if engine_backend is not None and model is not None and model.startswith("vllm:"):
            import dataclasses

            from evalkit.backends.vllm import VLLMBackend, settings_from_options
            from evalkit.backends.vllm_replica import VLLMReplica

            settings = settings_from_options(model.removeprefix("vllm:"), options)
            replica: Any = VLLMBackend(VLLMReplica(dataclasses.replace(settings, distributed_executor_backend=engine_backend)))
            self.backend: Backend = replica  # what create_backend would build, told where its ranks go
        else:
            self.backend = create_backend(model, options)

    def ready(self) -> WorkerInfo:
        return _info(self.backend.identity)

    def answer(self, keys: Sequence[str], requests: Sequence[Request], shard_id: str) -> Iterator[Answer]:
        """Batched, with the local executor's per-item isolation: a request the backend rejects, or one whose
        exception breaks its batch, errors alone. (``shard_id`` names API calls at the limiter; unused here.)"""
        for key, result in answer_isolated(self.backend, list(zip(keys, requests))):
            if isinstance(result, RequestError):
                yield Answer(key, None, f"request rejected: {result}")
            else:
                yield Answer(key, result)


class ApiWorker:
    """An API backend driven concurrently; the cluster's limiter decides when each attempt may start."""

    def __init__(self, model: str | None, options: BackendOptions, limiter_name: str, policy: RetryPolicy) -> None:
        import ray

        self.backend = create_backend(model, options)
        self.limiter: Any = ray.get_actor(limiter_name)  # by name: a restarted worker finds the same limiter
        self.policy = policy

    async def ready(self) -> WorkerInfo:
        return _info(self.backend.identity)

    async def answer(self, keys: Sequence[str], requests: Sequence[Request], shard_id: str) -> AsyncIterator[Answer]:
        """Every call of the shard holds its limiter slots as ``shard_id``: if the driver loses the shard it
        frees them, and refuses whatever this process still asks for it."""
        calls = [asyncio.ensure_future(self._call(key, request, shard_id)) for key, request in zip(keys, requests)]
        try:
            for finished in asyncio.as_completed(calls):
                yield await finished
        finally:
            for call in calls:
                call.cancel()

    async def _call(self, key: str, request: Request, owner: str) -> Answer:
        """Retries as the local executor does (same backoff, same error text), paced by the global limiter."""
        policy = self.policy
        max_tokens = request.max_tokens if isinstance(request, GenerateRequest) else 1
        estimate = estimate_tokens(request.prompt_text(), max_tokens)
        last_error = "no attempt made"
        for attempt in range(policy.max_retries + 1):
            await self.limiter.acquire.remote(estimate, owner)
            released = False
            try:
                result = await asyncio.wait_for(self.backend.call(request), timeout=policy.timeout)
                used = result.usage.prompt_tokens + result.usage.completion_tokens
                self.limiter.release.remote(owner, estimate, used or estimate)
                released = True
                return Answer(key, result, attempts=attempt + 1)
            except RequestError as exc:
                return Answer(key, None, f"request rejected: {exc}", attempt + 1)
            except (RetryableError, asyncio.TimeoutError) as exc:
                retry_after = exc.retry_after if isinstance(exc, RetryableError) else None
                limited = isinstance(exc, RetryableError) and exc.rate_limited
                self.limiter.release.remote(owner, estimate, estimate, limited, retry_after)
                released = True
                last_error = str(exc) or f"timed out after {policy.timeout:g}s"
                if attempt == policy.max_retries:
                    break
                await asyncio.sleep(policy.delay(attempt, retry_after))
            finally:
                if not released:
                    self.limiter.release.remote(owner, estimate, estimate)
        return Answer(key, None, f"failed after {policy.max_retries + 1} attempts: {last_error}",
                      policy.max_retries + 1)
