"""``--model vllm:PATH_OR_HUB_ID``: a vLLM engine in this process (offline, no server).

A thin adapter from the Backend protocol to one ``VLLMReplica`` (vllm_replica.py), which does the
work. vllm is imported only when this provider is chosen.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from evalkit.backends.base import RequestError, answer_one
from evalkit.backends.vllm_replica import VLLMReplica, VLLMSettings, parse_engine_args
from evalkit.types import Request, Result


class VLLMBackend:
    is_batched = True
    is_lookup = False
    supports_loglikelihood = True
    prefers_loglikelihood = True
    billing_model = None  # no per-token price

    def __init__(self, replica: VLLMReplica) -> None:
        self.replica = replica
        self.name = replica.name
        self.identity = replica.identity

    def describe(self) -> dict[str, object]:
        return self.replica.describe()

    def call_batch(self, requests: list[Request]) -> Iterator[tuple[int, Result | RequestError]]:
        return self.replica.call_batch(requests)

    async def call(self, request: Request) -> Result:
        return answer_one(self, request)

    async def aclose(self) -> None:
        self.replica.close()


def settings_from_options(name: str, options: Any) -> VLLMSettings:
    """The replica's plain settings from the CLI's BackendOptions."""
    return VLLMSettings(source=name, dtype=options.dtype, max_model_len=options.max_model_len,
                        tensor_parallel_size=options.tensor_parallel_size,
                        gpu_memory_utilization=options.gpu_memory_utilization,
                        engine_args=parse_engine_args(options.engine_args), chat_template=options.chat_template)


def create(name: str, options: Any) -> VLLMBackend:
    return VLLMBackend(VLLMReplica(settings_from_options(name, options)))
