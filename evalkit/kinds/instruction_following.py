"""Instruction following (IFEval): each prompt carries verifiable instructions; code checks every one.

A sample's ``target`` is its list of instruction ids and its ``kwargs`` metadata the parameters of each
(``evalkit.scoring.ifeval`` holds the 25 verifiers). Metrics, as in Zhou et al. (2023):

  prompt_level_strict / _loose   share of prompts whose every instruction is followed
  inst_level_strict / _loose     share of instructions followed, pooled over all instructions (not a mean of
                                 per-prompt shares); per sample, the share of that prompt's instructions

results.json also gets ``groups`` (per instruction id; ``instruction_types`` when the spec sets ``group_by``) and ``categories`` (per id prefix, e.g.
``keywords``), each with instruction-level strict and loose accuracy, and ``n_instructions``. Loose accuracy
also accepts the response with its first and/or last line removed and with ``*`` removed. No options of its own (``group_by``/``rollups`` only).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, ClassVar

from evalkit.errors import ConfigError, DataError
from evalkit.kinds.base import MetricInfo, Scored, kind_options
from evalkit.kinds.prompting import PromptBuilder
from evalkit.scoring.ifeval import (
    MissingDependency,
    checked_kwargs,
    ensure_available,
    follow_loose,
    follow_strict,
)
from evalkit.specs.benchmark import BenchmarkSpec
from evalkit.specs.options import KindOptions
from evalkit.stats.aggregate import metric_table
from evalkit.stats.uncertainty import summarize_mean, summarize_ratio
from evalkit.types import GenerateResult, Request, Result, Sample

METRICS = ("prompt_level_strict", "prompt_level_loose", "inst_level_strict", "inst_level_loose")


def instructions_of(sample: Sample) -> tuple[list[str], list[dict[str, Any]]]:
    """The sample's instruction ids and validated parameters; a malformed row is a DataError naming it."""
    ids, kwargs = sample.target, sample.metadata.get("kwargs")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise DataError(f"sample {sample.id}: target must be a non-empty list of instruction ids, got {ids!r}")
    if not isinstance(kwargs, list) or len(kwargs) != len(ids):
        raise DataError(f"sample {sample.id}: kwargs must be a list with one mapping per instruction "
                        f"({len(ids)}), got {kwargs!r}")
    try:
        return ids, [checked_kwargs(i, k) for i, k in zip(ids, kwargs)]
    except ValueError as exc:
        raise DataError(f"sample {sample.id}: {exc}") from None


class InstructionFollowingKind:
    Options: ClassVar[type[KindOptions]] = KindOptions  # only the runner's group_by/rollups

    def __init__(self, spec: BenchmarkSpec, options: KindOptions | None = None,
                 fewshot_pool: list[Sample] | None = None, **_: Any) -> None:
        self.spec = spec
        self.options = options or kind_options(KindOptions, spec)
        self.prompts = PromptBuilder(spec, fewshot_pool)

    def metrics(self) -> list[MetricInfo]:
        return [MetricInfo(name) for name in METRICS]

    def requests(self, sample: Sample, mode: str) -> list[Request]:
        instructions_of(sample)  # a malformed row stops the run before any model call
        try:
            ensure_available()  # so does a missing Punkt model or langdetect (loaded once, then cached)
        except MissingDependency as exc:
            raise ConfigError(str(exc)) from None
        return [self.prompts.generate_request(sample)]

    def score(self, samples: list[Sample], results: list[list[Result]], mode: str) -> list[Scored]:
        scored = []
        for sample, (result,) in zip(samples, results):
            assert isinstance(result, GenerateResult)
            ids, kwargs = instructions_of(sample)
            try:
                strict = follow_strict(ids, kwargs, result.text)
                loose = follow_loose(ids, kwargs, result.text)
            except MissingDependency as exc:
                raise ConfigError(str(exc)) from None
            scores: dict[str, float | None] = {
                "prompt_level_strict": float(all(strict)), "prompt_level_loose": float(all(loose)),
                "inst_level_strict": sum(strict) / len(ids), "inst_level_loose": sum(loose) / len(ids),
            }
            scored.append(Scored(sample=sample, prompt="", output=result.text, scores=scores,
                                 extra={"followed_strict": strict, "followed_loose": loose}))
        return scored

    def summarize(self, scored: list[Scored]) -> dict[str, Any]:
        """Pooled instruction-level accuracy, and accuracy per instruction id and per id prefix."""
        ok = [s for s in scored if s.error is None and "followed_strict" in s.extra]
        table = metric_table(scored, self.metrics())
        per_id: dict[str, dict[str, list[float]]] = defaultdict(lambda: {"strict": [], "loose": []})
        for item in ok:
            for instruction, strict, loose in zip(item.sample.target, item.extra["followed_strict"],
                                                  item.extra["followed_loose"]):
                per_id[instruction]["strict"].append(float(strict))
                per_id[instruction]["loose"].append(float(loose))
        sizes = [len(item.sample.target) for item in ok]
        for level in ("strict", "loose"):
            followed = [float(sum(item.extra[f"followed_{level}"])) for item in ok]
            summary = summarize_ratio(followed, sizes)
            summary["higher_is_better"] = True
            table[f"inst_level_{level}"] = summary
        categories: dict[str, dict[str, list[float]]] = defaultdict(lambda: {"strict": [], "loose": []})
        for instruction, values in per_id.items():
            for level in ("strict", "loose"):
                categories[instruction.split(":")[0]][level].extend(values[level])
        # per instruction id under "groups", unless the spec groups samples itself (options.group_by)
        per_type_key = "instruction_types" if self.options.group_by else "groups"
        return {"metrics": table, "n_instructions": sum(sizes),
                per_type_key: _per_type(per_id), "categories": _per_type(categories)}


def _per_type(values: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    out = {}
    for name in sorted(values):
        metrics = {}
        for level in ("strict", "loose"):
            summary = summarize_mean(values[name][level])
            summary["higher_is_better"] = True
            metrics[f"inst_level_{level}"] = summary
        out[name] = {"n": len(values[name]["strict"]), "n_errors": 0, "metrics": metrics}
    return out
