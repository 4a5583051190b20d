"""Metric names, options, and ``compute``: every requested metric over aligned hypotheses and references.

Scales are the libraries' own: BLEU, chrF, chrF++ and TER in 0–100; ROUGE, METEOR, exact match and F1
in 0–1. Corpus statistics (BLEU, chrF, chrF++, TER) carry a paired-bootstrap interval as sacrebleu's;
the others are means over items and carry the interval evalkit uses for every mean (Wilson for 0/1
scores, else mean ± t·SE), so ``evalkit score`` and ``evalkit run`` report the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from evalkit.errors import ConfigError
from evalkit.metrics.inputs import check_inputs
from evalkit.metrics.rouge import ROUGE_TYPES, rouge_names
from evalkit.metrics.sacre import CORPUS_METRICS, SacreOptions
from evalkit.stats.uncertainty import summarize_mean

FAMILIES: dict[str, tuple[str, ...]] = {
    "bleu": ("bleu",), "chrf": ("chrf",), "chrf++": ("chrf++",), "ter": ("ter",),
    "rouge": ROUGE_TYPES, **{t: (t,) for t in ROUGE_TYPES},
    "meteor": ("meteor",), "exact_match": ("exact_match",), "f1": ("f1",),
}
ALIASES = {"em": "exact_match", "token_f1": "f1", "chrfpp": "chrf++", "chrf2": "chrf++",
           "rougel": "rougeL", "rougelsum": "rougeLsum", "sacrebleu": "bleu"}
DEFAULT_METRICS = ("bleu", "chrf", "rouge", "meteor")
LOWER_IS_BETTER = {"ter", "sentence_ter"}


@dataclass(frozen=True)
class MetricOptions:
    """Settings shared by ``evalkit score`` flags and a ``reference`` spec's ``options``."""

    rouge_stem: bool = False  # rouge-score's default
    bleu_tokenize: str | None = None  # sacrebleu's default tokenizer (13a)
    lowercase: bool | None = None  # None: each metric's default (only TER ignores case)
    n_bootstrap: int = 1000
    seed: int | None = None
    jobs: int | None = None  # worker processes for ROUGE/METEOR/TER; None: all CPUs when it pays

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str) -> MetricOptions:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown metric option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        options = cls(**dict(values))
        options.validate(where)
        return options

    def validate(self, where: str = "metric options") -> None:
        from sacrebleu.metrics import BLEU

        if self.bleu_tokenize is not None and self.bleu_tokenize not in BLEU.TOKENIZERS:
            raise ConfigError(f"{where}: unknown BLEU tokenizer {self.bleu_tokenize!r}; "
                              f"choose one of {', '.join(BLEU.TOKENIZERS)}")
        if self.n_bootstrap < 0 or (self.jobs is not None and self.jobs < 1):
            raise ConfigError(f"{where}: n_bootstrap must be ≥ 0 and jobs ≥ 1")

    def sacre(self) -> SacreOptions:
        return SacreOptions(self.bleu_tokenize, self.lowercase, self.n_bootstrap, self.seed, self.jobs)


def parse_metrics(names: str | Iterable[str]) -> list[str]:
    """Requested metric families, validated (``"bleu,rouge"`` or a list); aliases resolved, order kept."""
    items = names.split(",") if isinstance(names, str) else list(names)
    chosen: list[str] = []
    for raw in items:
        name = str(raw).strip()
        name = ALIASES.get(name.lower(), name if name in FAMILIES else name.lower())
        if not name:
            continue
        if name not in FAMILIES:
            raise ConfigError(f"unknown metric {raw!r}; known: {', '.join(FAMILIES)}")
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise ConfigError("no metric requested; choose from " + ", ".join(FAMILIES))
    return chosen


def _members(families: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(m for f in families for m in FAMILIES[f]))


def reported_names(families: Sequence[str]) -> list[str]:
    """The metric names of the corpus table, in order (ROUGE types expand to F, precision, recall)."""
    out: list[str] = []
    for member in _members(families):
        out.extend(rouge_names((member,)) if member in ROUGE_TYPES else [member])
    return out


def sample_names(families: Sequence[str]) -> list[str]:
    """The per-sample score names: corpus statistics appear as their sentence-level versions."""
    return [f"sentence_{n}" if n in CORPUS_METRICS else n for n in reported_names(families)]


@dataclass
class Scores:
    """Per-sample scores (aligned with the inputs), the corpus table, and sacrebleu signatures."""

    per_sample: list[dict[str, float]]
    corpus: dict[str, dict[str, Any]]
    signatures: dict[str, str] = field(default_factory=dict)


def compute(families: Sequence[str], hypotheses: Sequence[Any], references: Sequence[Any],
            options: MetricOptions | None = None, ids: Sequence[str] | None = None) -> Scores:
    """Score every hypothesis against its references with each requested metric family."""
    from evalkit.metrics.meteor import meteor_scores
    from evalkit.metrics.rouge import rouge_scores
    from evalkit.metrics.sacre import sacre_metric
    from evalkit.metrics.squad import squad_scores

    options = options or MetricOptions()
    options.validate()
    hyps, refs = check_inputs(hypotheses, references, ids)
    members = _members(parse_metrics(families))
    columns: dict[str, list[float]] = {}
    corpus: dict[str, dict[str, Any]] = {}
    signatures: dict[str, str] = {}
    for name in (m for m in members if m in CORPUS_METRICS):
        result = sacre_metric(name, hyps, refs, options.sacre())
        columns[f"sentence_{name}"] = result["per_sample"]
        corpus[name] = result["corpus"]
        signatures[name] = result["signature"]
    rouge_types = tuple(m for m in members if m in ROUGE_TYPES)
    if rouge_types:
        rows = rouge_scores(hyps, refs, rouge_types, options.rouge_stem, options.jobs)
        for name in rouge_names(rouge_types):
            columns[name] = [row[name] for row in rows]
    if "meteor" in members:
        columns["meteor"] = meteor_scores(hyps, refs, options.jobs)
    if "exact_match" in members or "f1" in members:
        columns.update({k: v for k, v in squad_scores(hyps, refs).items() if k in members})
    table = {}
    for name in reported_names(members):
        entry = corpus.get(name) or summarize_mean(columns[name])
        table[name] = {**entry, "higher_is_better": name not in LOWER_IS_BETTER}
    order = sample_names(members)
    per_sample = [{name: columns[name][i] for name in order} for i in range(len(hyps))]
    return Scores(per_sample=per_sample, corpus=table, signatures=signatures)
