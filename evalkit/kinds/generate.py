"""Generate, extract, compare: free-text answers scored by exact match after extraction (GSM8K, BBH, MATH).

``options``:
  extractors: list of {name, kind: regex|last_number|boxed|full, pattern, group, select}
              one metric ``exact_match_<name>`` each (``exact_match`` when there is one nameless);
  compare:    number | exact | math   (how an extracted answer is compared with the target)
"""

from __future__ import annotations

from typing import Any

from evalkit.errors import ConfigError
from evalkit.kinds.base import KindBase, KindContext
from evalkit.kinds.prompting import PromptBuilder
from evalkit.scoring.extract import extract_last_boxed, extract_last_number, extract_regex, normalize_number
from evalkit.specs.benchmark import BenchmarkSpec
from evalkit.types import GenerateResult, MetricInfo, Request, Result, Sample, Scored


def _extract(text: str, extractor: dict[str, Any]) -> str | None:
    kind = extractor.get("kind", "regex")
    if kind == "regex":
        return extract_regex(text, extractor["pattern"], extractor.get("group", 1), extractor.get("select", "first"))
    if kind == "last_number":
        return extract_last_number(text)
    if kind == "boxed":
        return extract_last_boxed(text)
    if kind == "full":
        return text.strip()
    raise ConfigError(f"unknown extractor kind {kind!r}")


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
    def __init__(self, spec: BenchmarkSpec, context: KindContext | None = None) -> None:
        super().__init__(spec, context)
        self.prompts = PromptBuilder(spec, self.context.fewshot_pool)
        self.extractors: list[dict[str, Any]] = spec.options.get("extractors") or [{"kind": "full"}]
        self.compare = _comparator(spec.options.get("compare", "exact"))

    def _metric_name(self, extractor: dict[str, Any]) -> str:
        name = extractor.get("name")
        return f"exact_match_{name}" if name else "exact_match"

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
                extracted[extractor.get("name", "answer")] = value
                scores[self._metric_name(extractor)] = float(self.compare(value, sample.target))
            scored.append(Scored(sample=sample, prompt="", output=result.text, scores=scores, extracted=extracted))
        return scored
