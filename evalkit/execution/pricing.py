"""The price list: USD per million tokens for each model, shipped as ``prices.yaml`` and overridable.

Read strictly (an unknown key, a negative or non-numeric price is a ConfigError naming the file and
model) because a typo in a price file would silently misreport what a run costs. A model that is not
listed has no price: callers show tokens only and never guess.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError
from evalkit.types import Usage

SHIPPED = Path(__file__).with_name("prices.yaml")
_TOP_KEYS = {"source", "as_of", "models"}
_PRICE_KEYS = ("input", "cached_input", "output", "reasoning", "batch_discount")


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens; ``batch_discount`` is the share taken off through a batch API."""

    input: float
    output: float
    cached_input: float
    reasoning: float
    batch_discount: float = 0.0

    def cost(self, usage: Usage, batch: bool = False) -> float:
        """What one call with this usage costs. Cached prompt tokens are part of ``prompt_tokens``
        and reasoning tokens part of ``completion_tokens``, as OpenAI reports them."""
        cached = min(usage.cached_prompt_tokens, usage.prompt_tokens)
        reasoning = min(usage.reasoning_tokens, usage.completion_tokens)
        micro = ((usage.prompt_tokens - cached) * self.input + cached * self.cached_input
                 + (usage.completion_tokens - reasoning) * self.output + reasoning * self.reasoning)
        return micro / 1e6 * ((1.0 - self.batch_discount) if batch else 1.0)

    def as_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in _PRICE_KEYS}


@dataclass(frozen=True)
class PriceTable:
    models: dict[str, Price]
    sources: tuple[str, ...]  # where the prices came from (file, source, as_of), for the manifest

    def price(self, model: str | None) -> Price | None:
        return self.models.get(model) if model else None


def _number(where: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}: {key} must be a number (USD per 1M tokens), got {value!r}")
    if value < 0:
        raise ConfigError(f"{where}: {key} must not be negative, got {value!r}")
    return float(value)


def _parse_price(where: str, entry: Any) -> Price:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping of {', '.join(_PRICE_KEYS)}")
    unknown = sorted(set(entry) - set(_PRICE_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (expected {', '.join(_PRICE_KEYS)})")
    for required in ("input", "output"):
        if required not in entry:
            raise ConfigError(f"{where}: {required} is required")
    values = {k: _number(where, k, v) for k, v in entry.items()}
    if values.get("batch_discount", 0.0) >= 1.0:
        raise ConfigError(f"{where}: batch_discount is a share below 1 (0.5 = half price), got {values['batch_discount']:g}")
    return Price(input=values["input"], output=values["output"],
                 cached_input=values.get("cached_input", values["input"]),
                 reasoning=values.get("reasoning", values["output"]),
                 batch_discount=values.get("batch_discount", 0.0))


def read_prices(path: Path) -> tuple[dict[str, Price], str]:
    """One price file → its models and a line saying where they come from."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read price file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise ConfigError(f"{path}: expected a mapping with `models: {{MODEL: {{input: …, output: …}}}}`")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} (expected {', '.join(sorted(_TOP_KEYS))})")
    models = {str(name): _parse_price(f"{path}: model {name}", entry) for name, entry in data["models"].items()}
    origin = f"{path}" + "".join(f"; {k}: {data[k]}" for k in ("source", "as_of") if data.get(k))
    return models, origin


def load_prices(override: Path | None = None) -> PriceTable:
    """The shipped prices, with ``override`` (else ``$EVALKIT_PRICING``) replacing the models it lists."""
    models, origin = read_prices(SHIPPED)
    sources = [origin]
    env = os.environ.get("EVALKIT_PRICING")
    path = override or (Path(env).expanduser() if env else None)
    if path is not None:
        extra, extra_origin = read_prices(path)
        models.update(extra)
        sources.append(extra_origin)
    return PriceTable(models, tuple(sources))
