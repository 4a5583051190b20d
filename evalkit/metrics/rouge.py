"""ROUGE-1/2/L/Lsum through rouge-score: precision, recall and F per pair; best reference by F.

rouge-score's ``RougeScorer.score_multi`` does the scoring; we only hand it a tokenizer that runs
rouge-score's own ``tokenize`` with a memoised Porter stemmer (stemming is ~70% of its time), and spread
the pairs over processes. Lsum splits summaries on newlines, as rouge-score does.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from evalkit.metrics.caching import CachedStemmer
from evalkit.metrics.inputs import References
from evalkit.metrics.parallel import chunked_map

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
_PARTS = (("", "fmeasure"), ("_precision", "precision"), ("_recall", "recall"))


def rouge_names(types: tuple[str, ...] = ROUGE_TYPES) -> list[str]:
    """Per-sample score names: F first (the headline number), then precision and recall."""
    return [f"{t}{suffix}" for t in types for suffix, _ in _PARTS]


def _scorer(types: tuple[str, ...], stem: bool) -> Any:
    from rouge_score import rouge_scorer, tokenize, tokenizers

    class _Tokenizer(tokenizers.Tokenizer):
        def __init__(self) -> None:
            self.stemmer = CachedStemmer() if stem else None

        def tokenize(self, text: str) -> list[str]:
            return list(tokenize.tokenize(text, self.stemmer))

    return rouge_scorer.RougeScorer(list(types), tokenizer=_Tokenizer())


def _score_chunk(types: tuple[str, ...], stem: bool, pairs: list[tuple[str, list[str]]]) -> list[dict[str, float]]:
    scorer = _scorer(types, stem)
    rows = []
    for hyp, refs in pairs:
        best = scorer.score_multi(refs, hyp)
        rows.append({f"{t}{suffix}": float(getattr(best[t], field)) for t in types for suffix, field in _PARTS})
    return rows


def rouge_scores(hyps: list[str], refs: References, types: tuple[str, ...] = ROUGE_TYPES, stem: bool = False,
                 jobs: int | None = None) -> list[dict[str, float]]:
    """One dict per pair: ``rouge1`` (F), ``rouge1_precision``, ``rouge1_recall``, … for each type."""
    return chunked_map(partial(_score_chunk, tuple(types), stem), list(zip(hyps, refs)), jobs, min_items=400)
