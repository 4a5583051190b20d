"""How many answers to draw per item (``--samples-per-task``), refused where they would all be the same."""

from __future__ import annotations

from evalkit.errors import ConfigError
from evalkit.kinds.base import KindContext
from evalkit.specs.benchmark import BenchmarkSpec


def samples_per_item(spec: BenchmarkSpec, context: KindContext) -> int:
    """N from the run's context (1 outside a run); N > 1 needs sampling (temperature > 0), except when the
    answers come from a predictions file, which may hold N different outputs per item."""
    n = context.samples_per_task
    if n <= 1:
        return 1
    temperature = spec.generation.temperature if context.temperature is None else context.temperature
    if temperature <= 0 and not context.replayed:
        raise ConfigError(f"--samples-per-task {n} with temperature 0 draws the same answer {n} times: "
                          "pass --temperature (e.g. 0.6)")
    return n
