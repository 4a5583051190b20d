"""Generate, extract, compare: free-text answers scored by exact match after extraction (GSM8K, BBH, MATH, AIME).

``options`` (``GenerateOptions``; unknown keys are errors):
  extractors: list of {name, kind: regex|last_number|boxed|math_verify|full, pattern, group, select}
              one metric ``<metric>_<name>`` each (``<metric>`` when there is one nameless);
  compare:    number | exact | integer | math | math_verify   (scoring/compare.py)
  metric:     the metric's name (default ``exact_match``; AIME: ``pass@1``)

A leading reasoning block (``<think>…</think>``, or the server's ``reasoning_content``) is set apart before
extraction and kept in samples.jsonl (``reasoning``); a reply cut off while thinking, or at the token limit
before any extractor found an answer, is *truncated*: failed in every metric and counted in ``truncated`` /
``n_truncated`` (scoring/reasoning.py).

With ``--samples-per-task N`` (N > 1) each item is answered N times: the metric is the mean over the N
samples (pass@1 averaged over samples) and ``cons@N`` scores the majority answer (scoring/vote.py). Each
item contributes one value, so intervals are over items, not samples.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from evalkit.kinds.base import KindBase, KindContext
from evalkit.kinds.prompting import PromptBuilder
from evalkit.kinds.sampling import samples_per_item
from evalkit.scoring.compare import comparison
from evalkit.scoring.extract import extract_last_boxed, extract_last_number, extract_regex
from evalkit.scoring.reasoning import Reply, split_reply
from evalkit.scoring.vote import majority
from evalkit.specs.benchmark import BenchmarkSpec
from evalkit.specs.options import KindOptions, StrictModel
from evalkit.types import GenerateResult, MetricInfo, Request, Result, Sample, Scored


class Extractor(StrictModel):
    """How one answer is pulled out of a reply; each extractor is its own metric."""

    name: str | None = None
    kind: Literal["regex", "last_number", "boxed", "math_verify", "full"] = "regex"
    pattern: str | None = None  # regex only
    group: int = 1
    select: Literal["first", "last"] = "first"

    @model_validator(mode="after")
    def _pattern_compiles(self) -> Extractor:
        if self.kind == "regex":
            if self.pattern is None:
                raise ValueError("a regex extractor needs a pattern")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"bad regex {self.pattern!r}: {exc}") from None
        return self


class GenerateOptions(KindOptions):
    extractors: list[Extractor] = Field(default_factory=lambda: [Extractor(kind="full")], min_length=1)
    compare: Literal["number", "exact", "integer", "math", "math_verify"] = "exact"
    metric: str = "exact_match"  # the metric's name (AIME: pass@1)


def _extract(text: str, extractor: Extractor) -> str | None:
    if extractor.kind == "regex":
        return extract_regex(text, extractor.pattern or "", extractor.group, extractor.select)
    if extractor.kind == "last_number":
        return extract_last_number(text)
    if extractor.kind == "boxed":
        return extract_last_boxed(text)
    if extractor.kind == "math_verify":
        from evalkit.scoring.verified_math import extract_answer

        return extract_answer(text)
    return text.strip()


class GenerateKind(KindBase):
    Options: ClassVar[type[GenerateOptions]] = GenerateOptions
    options: GenerateOptions

    def __init__(self, spec: BenchmarkSpec, context: KindContext | None = None,
                 options: GenerateOptions | None = None) -> None:
        super().__init__(spec, context, options)
        fewshot_pool = self.context.fewshot_pool
        self.prompts = PromptBuilder(spec, fewshot_pool)
        self.extractors = self.options.extractors
        self.compare = comparison(self.options.compare)
        self.metric = self.options.metric
        self.n = samples_per_item(spec, self.context)

    def _metric_name(self, extractor: Extractor, base: str | None = None) -> str:
        base = base or self.metric
        return f"{base}_{extractor.name}" if extractor.name else base

    def metrics(self, mode: str) -> list[MetricInfo]:
        names = [self._metric_name(e) for e in self.extractors]
        if self.n > 1:
            names += [self._metric_name(e, f"cons@{self.n}") for e in self.extractors]
        return [MetricInfo(n) for n in names] + [MetricInfo("truncated", higher_is_better=False)]

    def requests(self, sample: Sample, mode: str) -> list[Request]:
        return [self.prompts.generate_request(sample, replica=i) for i in range(self.n)]

    def score(self, samples: list[Sample], results: list[list[Result]], mode: str) -> list[Scored]:
        scored = []
        for sample, sample_results in zip(samples, results):
            replies = []
            for result in sample_results:
                assert isinstance(result, GenerateResult)
                replies.append((result, split_reply(result)))
            scored.append(self._score_one(sample, replies))
        return scored

    def _score_one(self, sample: Sample, replies: list[tuple[GenerateResult, Reply]]) -> Scored:
        extracted: dict[str, Any] = {}
        scores: dict[str, float | None] = {}
        found = [[None if reply.unclosed else _extract(reply.answer, e) for e in self.extractors] for _, reply in replies]
        why = [reply.truncation(any(a is not None for a in answers)) for (_, reply), answers in zip(replies, found)]
        for index, extractor in enumerate(self.extractors):
            answers = [None if cut else per_reply[index] for per_reply, cut in zip(found, why)]
            hits = [float(self.compare.equal(a, sample.target)) if a is not None else 0.0 for a in answers]
            scores[self._metric_name(extractor)] = sum(hits) / len(hits)
            label = extractor.name or "answer"
            extracted[label] = answers[0] if self.n == 1 else answers
            if self.n > 1:
                voted = majority(answers, self.compare.equal)
                scores[self._metric_name(extractor, f"cons@{self.n}")] = float(
                    voted is not None and self.compare.equal(voted, sample.target))
                extracted[f"{label}_majority"] = voted
        scores["truncated"] = sum(cut is not None for cut in why) / len(why)
        first, first_reply = replies[0]
        extra: dict[str, Any] = {"finish_reason": first.finish_reason, "reasoning": first_reply.reasoning,
                                 "truncated": why[0]}
        if self.n > 1:
            extra.update(outputs=[r.text for r, _ in replies], reasonings=[p.reasoning for _, p in replies],
                         truncated=why, n_samples=self.n)
        return Scored(sample=sample, prompt="", output=first.text, scores=scores, extracted=extracted, extra=extra)

    def summarize(self, scored: list[Scored], mode: str) -> dict[str, Any]:
        """results.json additions: how many replies were cut off (scored as failed), and the sample count."""
        cut = sum(round((s.scores.get("truncated") or 0.0) * self.n) for s in scored if s.error is None)
        return {"n_truncated": cut, "samples_per_task": self.n}
