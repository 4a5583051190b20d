"""How many answers to draw per item (``--samples-per-task``), refused where they would all be the same."""

from __future__ import annotations

from typing import Any

from evalkit.errors import ConfigError
from evalkit.specs.benchmark import BenchmarkSpec


def samples_per_item(spec: BenchmarkSpec, config: Any) -> int:
    """N from the run's config (1 without one); N > 1 needs sampling (temperature > 0), except when the
    answers come from a predictions file, which may hold N different outputs per item."""
    n = int(getattr(config, "samples_per_task", 1)) if config is not None else 1
    if n <= 1:
        return 1
    backend = getattr(config, "backend", None)
    temperature = getattr(backend, "temperature", None)
    temperature = spec.generation.temperature if temperature is None else temperature
    predictions = str(getattr(config, "model", "") or "").startswith("predictions:")
    if temperature <= 0 and not predictions:
        raise ConfigError(f"--samples-per-task {n} with temperature 0 draws the same answer {n} times: "
                          "pass --temperature (e.g. 0.6)")
    return n
