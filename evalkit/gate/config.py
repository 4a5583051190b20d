"""gate.yaml: default margin and alpha, per-benchmark margins, metric selection and absolute floors.

    max_drop: 0.02            # default margin (absolute, in the metric's own units)
    alpha: 0.05
    benchmarks:
      gsm8k:
        max_drop: 0.03        # one number for every metric, or {metric: margin}
        metrics: [exact_match_strict]   # gate only these (default: every metric)
        floor: {exact_match_strict: 0.60}   # the candidate must stay at or above this
      xstest: {skip: true}

Strict: unknown keys, duplicate keys and wrong types are ConfigErrors naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError
from evalkit.specs.strict import check_keys
from evalkit.specs.yaml_strict import load_yaml


@dataclass(frozen=True)
class BenchmarkRule:
    max_drop: float | dict[str, float] | None = None
    metrics: tuple[str, ...] | None = None
    floor: dict[str, float] = field(default_factory=dict)
    skip: bool = False


@dataclass(frozen=True)
class GateConfig:
    max_drop: float = 0.0
    alpha: float = 0.05
    benchmarks: dict[str, BenchmarkRule] = field(default_factory=dict)

    def rule(self, benchmark: str) -> BenchmarkRule:
        return self.benchmarks.get(benchmark, BenchmarkRule())

    def margin(self, benchmark: str, metric: str) -> float:
        own = self.rule(benchmark).max_drop
        if isinstance(own, dict):
            return own.get(metric, self.max_drop)
        return self.max_drop if own is None else own

    def validate(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError(f"alpha must be between 0 and 1 (exclusive), got {self.alpha}")
        if self.max_drop < 0:
            raise ConfigError(f"max-drop must be ≥ 0 (an absolute drop in the metric's units), got {self.max_drop}")


def _number(value: Any, where: str, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where} must be a number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{where} must be ≥ {minimum}, got {value}")
    return float(value)


def _metric_numbers(value: Any, where: str, minimum: float | None) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping of metric name to number")
    return {str(k): _number(v, f"{where}.{k}", minimum) for k, v in value.items()}


def _rule(name: str, data: Any, where: str) -> BenchmarkRule:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: benchmarks.{name} must be a mapping")
    check_keys(data, {"max_drop", "metrics", "floor", "skip"}, f"{where}: benchmarks.{name}")
    drop = data.get("max_drop")
    margin: float | dict[str, float] | None = None
    if isinstance(drop, dict):
        margin = _metric_numbers(drop, f"benchmarks.{name}.max_drop", 0.0)
    elif drop is not None:
        margin = _number(drop, f"benchmarks.{name}.max_drop", 0.0)
    metrics = data.get("metrics")
    if metrics is not None and (not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics)):
        raise ConfigError(f"{where}: benchmarks.{name}.metrics must be a list of metric names")
    skip = data.get("skip", False)
    if not isinstance(skip, bool):
        raise ConfigError(f"{where}: benchmarks.{name}.skip must be true or false")
    floor = _metric_numbers(data["floor"], f"benchmarks.{name}.floor", None) if "floor" in data else {}
    return BenchmarkRule(margin, tuple(metrics) if metrics is not None else None, floor, skip)


def load_gate_config(path: Path | None, max_drop: float | None = None, alpha: float | None = None) -> GateConfig:
    """Read gate.yaml (optional); flags given on the command line override its top-level values."""
    data: dict[str, Any] = {}
    where = str(path)
    if path is not None:
        loaded = load_yaml(path)
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{where}: the gate config must be a mapping (max_drop, alpha, benchmarks)")
        check_keys(loaded, {"max_drop", "alpha", "benchmarks"}, where)
        data = loaded
    benchmarks = data.get("benchmarks") or {}
    if not isinstance(benchmarks, dict):
        raise ConfigError(f"{where}: benchmarks must be a mapping of benchmark name to rules")
    config = GateConfig(
        max_drop=max_drop if max_drop is not None else _number(data.get("max_drop", 0.0), "max_drop", 0.0),
        alpha=alpha if alpha is not None else _number(data.get("alpha", 0.05), "alpha"),
        benchmarks={str(name): _rule(str(name), rule, where) for name, rule in benchmarks.items()},
    )
    config.validate()
    return config
