"""Run-time changes to a benchmark spec (lm-eval's knobs): few-shot count, system prompt, generation
settings, few-shot as chat turns. Applied to the spec itself, before its kind is built, so the manifest's
spec fingerprint (and the prompt hash) record them, and the gate calls two runs with different overrides
not comparable."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from evalkit.errors import ConfigError
from evalkit.scoring.tool_literals import split_top_level
from evalkit.specs.benchmark import BenchmarkSpec, Generation
from evalkit.specs.strict import unknown_key

GEN_KWARGS = tuple(Generation.model_fields)  # max_tokens, temperature, top_p, stop
PROMPT_SECTIONS = ("generate_prompt",)  # options that hold a whole ``prompt`` section


@dataclass(frozen=True)
class SpecOverrides:
    num_fewshot: int | None = None
    system_prompt: str | None = None
    fewshot_as_multiturn: bool | None = None
    gen_kwargs: dict[str, Any] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return (self.num_fewshot is None and self.system_prompt is None and self.fewshot_as_multiturn is None
                and not self.gen_kwargs)


def apply_overrides(spec: BenchmarkSpec, overrides: SpecOverrides) -> BenchmarkSpec:
    """The spec with the overrides written into it (the spec itself is frozen and left as it is)."""
    if overrides.is_empty():
        return spec
    if overrides.num_fewshot is not None and overrides.num_fewshot > 0 and spec.fewshot.k == 0 \
            and spec.fewshot.split != "same" and spec.fewshot.hub is None and spec.fewshot.local is None \
            and spec.fewshot.fixed is None:
        raise ConfigError(f"--num-fewshot {overrides.num_fewshot}: benchmark {spec.name} has no few-shot pool "
                          f"({spec.where} defines no fewshot source)")
    update: dict[str, Any] = {}
    if overrides.num_fewshot is not None:
        update["fewshot"] = spec.fewshot.model_copy(update={"k": overrides.num_fewshot})
    prompt: dict[str, Any] = {}
    if overrides.system_prompt is not None:
        prompt["system"] = overrides.system_prompt
    if overrides.fewshot_as_multiturn is not None:
        prompt["fewshot_as_multiturn"] = overrides.fewshot_as_multiturn
    if prompt:
        update["prompt"] = spec.prompt.model_copy(update=prompt)
        # a kind's other prompt sections (multiple choice's generate_prompt) get the same changes
        options = dict(spec.options)
        for key in PROMPT_SECTIONS:
            if isinstance(options.get(key), dict):
                options[key] = {**options[key], **prompt}
        update["options"] = options
    if overrides.gen_kwargs:
        update["generation"] = Generation(**{**spec.generation.model_dump(), **overrides.gen_kwargs})
    return spec.model_copy(update=update)


def parse_gen_kwargs(text: str | None) -> dict[str, Any]:
    """``max_tokens=256,temperature=0.7,stop=["\\n\\n"]`` → typed values (JSON where it parses, else text)."""
    if not text:
        return {}
    values: dict[str, Any] = {}
    for part in split_top_level(text):
        key, eq, raw = part.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ConfigError(f"--gen-kwargs: {part!r} is not KEY=VALUE")
        if key not in GEN_KWARGS:
            raise unknown_key(key, list(GEN_KWARGS), "--gen-kwargs", what="generation setting")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        if key == "stop":
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"--gen-kwargs stop must be a string or a JSON list of strings, got {raw!r}")
        elif key == "max_tokens" and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ConfigError(f"--gen-kwargs max_tokens must be a positive integer, got {raw!r}")
        elif key in ("temperature", "top_p") and (not isinstance(value, (int, float)) or isinstance(value, bool)
                                                  or value < 0 or (key == "top_p" and value > 1)):
            raise ConfigError(f"--gen-kwargs {key} must be a number{' in [0, 1]' if key == 'top_p' else ' ≥ 0'}, "
                              f"got {raw!r}")
        values[key] = float(value) if key in ("temperature", "top_p") else value
    return values


def parse_limits(text: str | None) -> tuple[int | None, dict[str, int]]:
    """``--limit 50`` → (50, {}); ``--limit gsm8k=5,mmlu=200`` → (None, {...})."""
    if text is None:
        return None, {}
    text = text.strip()
    if "=" not in text:
        return _positive(text, "--limit"), {}
    limits = {}
    for part in text.split(","):
        name, eq, value = part.partition("=")
        if not eq or not name.strip():
            raise ConfigError(f"--limit: {part!r} is not BENCHMARK=N (or give one number for all)")
        limits[name.strip()] = _positive(value, f"--limit {name.strip()}")
    return None, limits


def _positive(text: str, where: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{where} must be a whole number, got {text.strip()!r}") from None
    if value < 1:
        raise ConfigError(f"{where} must be at least 1, got {value}")
    return value
