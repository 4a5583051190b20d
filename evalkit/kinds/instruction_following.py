"""Instruction following (IFEval): each prompt carries verifiable instructions; code checks every one.

A sample's ``target`` is its list of instruction ids and its ``kwargs`` metadata the parameters of each
(``evalkit.scoring.ifeval`` holds the 25 verifiers). Metrics, as in Zhou et al. (2023):

  prompt_level_strict / _loose   share of prompts whose every instruction is followed
  inst_level_strict / _loose     share of instructions followed, pooled over all instructions (not a mean of
                                 per-prompt shares); per sample, the share of that prompt's instructions

results.json also gets ``groups`` (per instruction id; ``instruction_types`` when the spec sets ``group_by``) and ``categories`` (per id prefix, e.g.
``keywords``), each with instruction-level strict and loose accuracy, and ``n_instructions``. Loose accuracy
also accepts the response with its first and/or last line removed and with ``*`` removed. No options of its own (``group_by``/``rollups`` only).

A reasoning model's leading ``<think>…</think>`` block (or the server's ``reasoning_content``) is set apart
and kept in samples.jsonl (``reasoning``); only the answer after it is checked. A reply whose thinking never
closes has no answer: it follows nothing and counts in ``truncated`` / ``n_truncated``. A reply cut at the
token limit is checked as it is, as the official checker does.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, ClassVar

from evalkit.errors import ConfigError, DataError
from evalkit.kinds.base import KindBase, KindContext
from evalkit.kinds.prompting import PromptBuilder
from evalkit.scoring.ifeval import (
    MissingDependency,
    checked_kwargs,
    ensure_available,
    follow_loose,
    follow_strict,
)
from evalkit.scoring.reasoning import split_reply
from evalkit.specs.benchmark import BenchmarkSpec
from evalkit.specs.options import KindOptions
from evalkit.stats.aggregate import metric_table
from evalkit.stats.uncertainty import summarize_mean, summarize_ratio
from evalkit.types import GenerateResult, MetricInfo, Request, Result, Sample, Scored

METRICS = ("prompt_level_strict", "prompt_level_loose", "inst_level_strict", "inst_level_loose")
TRUNCATED = MetricInfo("truncated", higher_is_better=False)  # share of replies whose reasoning never closed


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


class InstructionFollowingKind(KindBase):
    Options: ClassVar[type[KindOptions]] = KindOptions  # only the runner's group_by/rollups
    options: KindOptions

    def __init__(self, spec: BenchmarkSpec, context: KindContext | None = None, options: KindOptions | None = None) -> None:
        super().__init__(spec, context, options)
        fewshot_pool = self.context.fewshot_pool
        self.prompts = PromptBuilder(spec, fewshot_pool)

    def metrics(self, mode: str) -> list[MetricInfo]:
        return [MetricInfo(name) for name in METRICS] + [TRUNCATED]

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
            reply = split_reply(result)  # an unclosed reasoning block leaves an empty answer: nothing followed
            try:
                strict = follow_strict(ids, kwargs, reply.answer)
                loose = follow_loose(ids, kwargs, reply.answer)
            except MissingDependency as exc:
                raise ConfigError(str(exc)) from None
            scores: dict[str, float | None] = {
                "prompt_level_strict": float(all(strict)), "prompt_level_loose": float(all(loose)),
                "inst_level_strict": sum(strict) / len(ids), "inst_level_loose": sum(loose) / len(ids),
                "truncated": float(reply.unclosed),
            }
            extra = {"followed_strict": strict, "followed_loose": loose, "reasoning": reply.reasoning,
                     "truncated": "unclosed reasoning" if reply.unclosed else None,
                     "finish_reason": result.finish_reason}
            scored.append(Scored(sample=sample, prompt="", output=result.text, scores=scores, extra=extra))
        return scored

    def summarize(self, scored: list[Scored], mode: str) -> dict[str, Any]:
        """Pooled instruction-level accuracy, and accuracy per instruction id and per id prefix."""
        ok = [s for s in scored if s.error is None and "followed_strict" in s.extra]
        table = metric_table(scored, self.metrics(mode))
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
        return {"metrics": table, "n_instructions": sum(sizes), "n_truncated": sum(1 for s in ok if s.extra["truncated"]),
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
