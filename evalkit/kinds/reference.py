"""Generate, then score the text against one or more references: BLEU, chrF, TER, ROUGE, METEOR, EM/F1.

A spec's ``target`` field gives the reference (a string) or references (a list of strings). ``options``:

  metrics:        list (or comma string) of metric names; default bleu, chrf, rouge, meteor
  rouge_stem, bleu_tokenize, lowercase, n_bootstrap, seed, jobs: see docs/metrics.md

Per-sample scores go to samples.jsonl (sentence-level BLEU/chrF/TER as ``sentence_*``). BLEU, chrF and
TER are corpus statistics, not means, so ``summarize`` replaces the runner's per-sample means with the
corpus table (and records sacrebleu's signatures), for the whole benchmark and for each group of
``options.group_by`` (e.g. one BLEU per language pair).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, ClassVar

from evalkit.errors import ConfigError
from evalkit.kinds.base import KindBase, KindContext
from evalkit.kinds.prompting import PromptBuilder
from evalkit.metrics import (
    DEFAULT_METRICS,
    LOWER_IS_BETTER,
    MetricOptions,
    Scores,
    compute,
    parse_metrics,
    reported_names,
)
from evalkit.metrics.inputs import as_references
from evalkit.metrics.sacre import CORPUS_METRICS
from evalkit.specs.benchmark import BenchmarkSpec
from evalkit.specs.options import KindOptions
from evalkit.stats.aggregate import metric_table
from evalkit.types import GenerateResult, MetricInfo, Request, Result, Sample, Scored


class ReferenceOptions(KindOptions):
    """The metric families, and the settings ``evalkit score`` takes as flags (see MetricOptions)."""

    metrics: str | list[str] = list(DEFAULT_METRICS)
    rouge_stem: bool = False
    bleu_tokenize: str | None = None
    lowercase: bool | None = None
    n_bootstrap: int = 1000
    seed: int | None = None
    jobs: int | None = None


class ReferenceKind(KindBase):
    Options: ClassVar[type[ReferenceOptions]] = ReferenceOptions
    options: ReferenceOptions

    def __init__(self, spec: BenchmarkSpec, context: KindContext | None = None, options: ReferenceOptions | None = None) -> None:
        super().__init__(spec, context, options)
        fewshot_pool = self.context.fewshot_pool
        self.prompts = PromptBuilder(spec, fewshot_pool)
        where = f"{spec.path or 'benchmark ' + spec.name}: options"
        settings = self.options.model_dump(exclude={"metrics", "group_by", "rollups"})
        self.metric_options = MetricOptions.from_mapping(settings, where)
        try:
            self.families = parse_metrics(self.options.metrics)
        except ConfigError as exc:
            raise ConfigError(f"{where}.metrics: {exc}") from None
        # memo of the last computation, keyed by its inputs: summarize reuses score's corpus table
        # (a pure function's result, so the kind stays stateless in effect)
        self._memo: tuple[tuple[Any, ...], Scores] | None = None

    def metrics(self, mode: str) -> list[MetricInfo]:
        return [MetricInfo(name, higher_is_better=name not in LOWER_IS_BETTER) for name in reported_names(self.families)]

    def requests(self, sample: Sample, mode: str) -> list[Request]:
        as_references(sample.target, f"benchmark {self.spec.name}: sample {sample.id}")  # fail before any model call
        return [self.prompts.generate_request(sample)]

    def _compute(self, samples: list[Sample], texts: list[str], families: list[str] | None = None) -> Scores:
        families = families or self.families
        key = (tuple(families), tuple(s.id for s in samples), tuple(texts))
        if self._memo is not None and self._memo[0] == key:
            return self._memo[1]
        ids = [f"benchmark {self.spec.name}: sample {s.id}" for s in samples]
        scores = compute(families, texts, [s.target for s in samples], self.metric_options, ids)
        self._memo = (key, scores)
        return scores

    def score(self, samples: list[Sample], results: list[list[Result]], mode: str) -> list[Scored]:
        texts = []
        for (result,) in results:
            assert isinstance(result, GenerateResult)
            texts.append(result.text)
        scores = self._compute(samples, texts)
        return [Scored(sample=s, prompt="", output=text, scores=dict(row))  # type: ignore[arg-type]
                for s, text, row in zip(samples, texts, scores.per_sample)]

    def summarize(self, scored: list[Scored], mode: str) -> dict[str, Any]:
        """The corpus table over the samples that were scored (errored ones are left out)."""
        ok = [s for s in scored if s.error is None and s.output is not None]
        if not ok:
            return {}
        scores = self._compute([s.sample for s in ok], [s.output or "" for s in ok])
        summary: dict[str, Any] = {"metrics": scores.corpus, "signatures": scores.signatures}
        group_by = self.options.group_by
        corpus_families = [f for f in self.families if f in CORPUS_METRICS]
        if group_by and corpus_families:
            summary["groups"] = self._group_tables(scored, str(group_by), corpus_families, mode)
        return summary

    def _group_tables(self, scored: list[Scored], group_by: str, corpus_families: list[str],
                      mode: str) -> dict[str, Any]:
        """The runner's group tables, with each group's own corpus BLEU/chrF/TER in place of empty cells."""
        groups: dict[str, list[Scored]] = defaultdict(list)
        for item in scored:
            groups[str(item.sample.metadata.get(group_by))].append(item)
        tables = {}
        for name, items in sorted(groups.items()):
            table = metric_table(items, self.metrics(mode))
            ok = [s for s in items if s.error is None and s.output is not None]
            if ok:
                table.update(self._compute([s.sample for s in ok], [s.output or "" for s in ok], corpus_families).corpus)
            tables[name] = {"n": len(items), "n_errors": sum(1 for s in items if s.error), "metrics": table}
        return tables
