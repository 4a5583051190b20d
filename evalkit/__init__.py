"""evalkit: an LLM evaluation harness that is fast, honest about uncertainty, and hard to break.

The public Python API (docs/api.md)::

    import evalkit
    r = evalkit.evaluate("openai:gpt-4o-mini", ["gsm8k"], limit=50)   # or: await evalkit.evaluate_async(...)
    r.metrics            # DataFrame: benchmark, metric, value, stderr, ci95_low, ci95_high, n
    r.samples            # DataFrame: one row per sample, scores.<metric> columns
    evalkit.load_run("runs/2026…")   # the same Results for a run made by the CLI

Everything is imported on first use, so ``import evalkit`` loads no model library (torch, transformers)
and no pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name → the module that defines it
_EXPORTS = {
    "evaluate": "evalkit.api", "evaluate_async": "evalkit.api", "load_run": "evalkit.api", "Results": "evalkit.api",
    "RunConfig": "evalkit.config", "BackendOptions": "evalkit.config",
    "Sample": "evalkit.types", "Scored": "evalkit.types", "MetricInfo": "evalkit.types",
    "JudgmentRow": "evalkit.types",
    "EvalkitError": "evalkit.errors", "ConfigError": "evalkit.errors", "DataError": "evalkit.errors",
    "BackendError": "evalkit.errors",
}

__all__ = [
    "BackendError", "BackendOptions", "ConfigError", "DataError", "EvalkitError", "JudgmentRow", "MetricInfo",
    "Results", "RunConfig", "Sample", "Scored", "__version__", "evaluate", "evaluate_async", "load_run",
]

if TYPE_CHECKING:
    from evalkit.api import Results, evaluate, evaluate_async, load_run
    from evalkit.config import BackendOptions, RunConfig
    from evalkit.errors import BackendError, ConfigError, DataError, EvalkitError
    from evalkit.types import JudgmentRow, MetricInfo, Sample, Scored


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evalkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
