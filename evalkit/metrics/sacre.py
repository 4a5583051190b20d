"""BLEU, chrF, chrF++ and TER through sacrebleu: sentence scores, corpus score, signature, bootstrap CI.

Each segment's sufficient statistics are extracted once and reused three ways: the sentence-level score
(as ``sentence_bleu``/``sentence_chrf``/``sentence_ter``), the corpus score (their sum, as
``corpus_score``), and the paired bootstrap over segments (as sacrebleu's ``n_bootstrap``). This is
sacrebleu's own code on sacrebleu's own statistics, so every number equals what sacrebleu reports.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial
from typing import Any

from evalkit.metrics.inputs import References, reference_streams
from evalkit.metrics.parallel import chunked_map
from evalkit.stats.uncertainty import bootstrap_sums

CORPUS_METRICS = ("bleu", "chrf", "chrf++", "ter")


@dataclass(frozen=True)
class SacreOptions:
    bleu_tokenize: str | None = None  # sacrebleu's default (13a) when None
    lowercase: bool | None = None  # None: each metric's own default (TER ignores case, BLEU/chrF do not)
    n_bootstrap: int = 1000
    seed: int | None = None  # None: $SACREBLEU_SEED or 12345, as sacrebleu
    jobs: int | None = None


def _make(name: str, options: SacreOptions, sentence: bool) -> Any:
    from sacrebleu.metrics import BLEU, CHRF, TER

    if name == "bleu":
        # sentence_bleu's defaults: exp smoothing with effective order; corpus_bleu: no effective order
        return BLEU(tokenize=options.bleu_tokenize, lowercase=bool(options.lowercase), effective_order=sentence)
    if name in ("chrf", "chrf++"):
        return CHRF(word_order=2 if name == "chrf++" else 0, lowercase=bool(options.lowercase))
    if name == "ter":
        return TER(case_sensitive=options.lowercase is False)
    raise ValueError(name)


def _segment_stats(name: str, options: SacreOptions, pairs: list[tuple[str, list[str]]]) -> list[list[float]]:
    metric = _make(name, options, sentence=False)
    streams = reference_streams([refs for _, refs in pairs])
    return list(metric._extract_corpus_statistics([hyp for hyp, _ in pairs], streams))


def _seed(options: SacreOptions) -> int | None:
    if options.seed is not None:
        return options.seed
    env = os.environ.get("SACREBLEU_SEED", "12345")
    return None if env.lower() == "none" else int(env)


def sacre_metric(name: str, hyps: list[str], refs: References, options: SacreOptions) -> dict[str, Any]:
    """{"per_sample": [...], "corpus": {...}, "signature": str} for one of CORPUS_METRICS."""
    pairs = list(zip(hyps, refs))
    min_items = 200 if name == "ter" else 20_000  # TER's shift search is slow; n-gram counting is not
    stats = chunked_map(partial(_segment_stats, name, options), pairs, options.jobs, min_items=min_items)
    corpus_metric = _make(name, options, sentence=False)
    sentence_metric = _make(name, options, sentence=True)
    per_sample = [float(sentence_metric._aggregate_and_compute([row]).score) for row in stats]
    value = float(corpus_metric._aggregate_and_compute(stats).score)
    seed = _seed(options)
    boot = bootstrap_sums(stats, lambda summed: corpus_metric._compute_score_from_stats(summed).score,
                          options.n_bootstrap, seed)
    counts = {len(r) for r in refs}
    corpus_metric.num_refs = counts.pop() if len(counts) == 1 else -1  # set by reference caching in sacrebleu
    if boot["n_bootstrap"]:
        corpus_metric.n_bootstrap, corpus_metric.seed = options.n_bootstrap, str(seed).lower()
    corpus = {"value": value, **boot, "n": len(hyps)}
    return {"per_sample": per_sample, "corpus": corpus, "signature": corpus_metric.get_signature().format()}
