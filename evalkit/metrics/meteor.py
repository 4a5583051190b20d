"""METEOR exactly as nltk's ``meteor_score`` computes it (WordNet synonyms, Porter stems, max over references).

Texts are split on whitespace, as nltk's examples do (nltk wants pre-tokenised input). nltk's own function
does the alignment and scoring; we pass it memoised stand-ins for its stemmer and WordNet lookup (see
caching.py), which makes it several times faster without changing a single score, and spread the pairs
over processes. The parent loads WordNet before forking so workers inherit it.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from evalkit.metrics.caching import CachedStemmer, CachedWordNet
from evalkit.metrics.inputs import References
from evalkit.metrics.parallel import chunked_map
from evalkit.metrics.wordnet import load_wordnet

_STATE: dict[str, Any] = {}


def _tools() -> tuple[CachedStemmer, CachedWordNet]:
    if "wordnet" not in _STATE:
        _STATE["wordnet"] = CachedWordNet(load_wordnet())
        _STATE["stemmer"] = CachedStemmer()
    return _STATE["stemmer"], _STATE["wordnet"]


def _score_chunk(alpha: float, beta: float, gamma: float, pairs: list[tuple[str, list[str]]]) -> list[float]:
    from nltk.translate.meteor_score import meteor_score

    stemmer, wordnet = _tools()
    return [float(meteor_score([ref.split() for ref in refs], hyp.split(), stemmer=stemmer, wordnet=wordnet,
                               alpha=alpha, beta=beta, gamma=gamma))
            for hyp, refs in pairs]


def meteor_scores(hyps: list[str], refs: References, jobs: int | None = None,
                  alpha: float = 0.9, beta: float = 3.0, gamma: float = 0.5) -> list[float]:
    """METEOR per pair (nltk's defaults for alpha, beta, gamma)."""
    _tools()  # load WordNet (or fail with the install hint) before any worker starts
    return chunked_map(partial(_score_chunk, alpha, beta, gamma), list(zip(hyps, refs)), jobs, min_items=400)
