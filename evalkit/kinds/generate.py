"""Generate, extract, compare: free-text answers scored by exact match after extraction (GSM8K, BBH, MATH).

``options`` (``GenerateOptions``; unknown keys are errors):
  extractors: list of {name, kind: regex|last_number|boxed|full, pattern, group, select}
              one metric ``exact_match_<name>`` each (``exact_match`` when there is one nameless);
  compare:    number | exact | math   (how an extracted answer is compared with the target)
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from evalkit.errors import ConfigError
from evalkit.kinds.base import KindBase, KindContext
from evalkit.kinds.prompting import PromptBuilder
from evalkit.scoring.extract import extract_last_boxed, extract_last_number, extract_regex, normalize_number
from evalkit.specs.benchmark import BenchmarkSpec
from evalkit.specs.options import KindOptions, StrictModel
from evalkit.types import GenerateResult, MetricInfo, Request, Result, Sample, Scored


class Extractor(StrictModel):
    """How one answer is pulled out of a reply; each extractor is its own metric."""

    name: str | None = None
    kind: Literal["regex", "last_number", "boxed", "full"] = "regex"
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
    compare: Literal["number", "exact", "math"] = "exact"


def _extract(text: str, extractor: Extractor) -> str | None:
    if extractor.kind == "regex":
        return extract_regex(text, extractor.pattern or "", extractor.group, extractor.select)
    if extractor.kind == "last_number":
        return extract_last_number(text)
    if extractor.kind == "boxed":
        return extract_last_boxed(text)
    return text.strip()


def _comparator(name: str) -> Any:
    if name == "number":
        return lambda got, want: got is not None and normalize_number(got) == normalize_number(str(want))
    if name == "exact":
        return lambda got, want: got is not None and " ".join(got.split()) == " ".join(str(want).split())
    if name == "math":
        from evalkit.scoring.math_equiv import is_equiv

        return lambda got, want: got is not None and is_equiv(got, str(want))
    raise ConfigError(f"unknown comparison {name!r}; use number, exact or math")


class GenerateKind(KindBase):
    Options: ClassVar[type[GenerateOptions]] = GenerateOptions
    options: GenerateOptions

    def __init__(self, spec: BenchmarkSpec, context: KindContext | None = None, options: GenerateOptions | None = None) -> None:
        super().__init__(spec, context, options)
        fewshot_pool = self.context.fewshot_pool
        self.prompts = PromptBuilder(spec, fewshot_pool)
        self.extractors = self.options.extractors
        self.compare = _comparator(self.options.compare)

    def _metric_name(self, extractor: Extractor) -> str:
        return f"exact_match_{extractor.name}" if extractor.name else "exact_match"

    def metrics(self, mode: str) -> list[MetricInfo]:
        return [MetricInfo(self._metric_name(e)) for e in self.extractors]

    def requests(self, sample: Sample, mode: str) -> list[Request]:
        return [self.prompts.generate_request(sample)]

    def score(self, samples: list[Sample], results: list[list[Result]], mode: str) -> list[Scored]:
        scored = []
        for sample, (result,) in zip(samples, results):
            assert isinstance(result, GenerateResult)
            extracted = {}
            scores: dict[str, float | None] = {}
            for extractor in self.extractors:
                value = _extract(result.text, extractor)
                extracted[extractor.name or "answer"] = value
                scores[self._metric_name(extractor)] = float(self.compare(value, sample.target))
            scored.append(Scored(sample=sample, prompt="", output=result.text, scores=scores, extracted=extracted))
        return scored
