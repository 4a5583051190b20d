"""Exact match and token F1 with SQuAD's answer normalisation; the best reference counts.

Normalisation (lower case, drop punctuation, drop the articles a/an/the, collapse whitespace) follows the
official SQuAD evaluation; an empty answer scores F1 1 only against an empty reference (SQuAD v2.0).
"""

from __future__ import annotations

import re
import string
from collections import Counter

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split())


def exact_match(prediction: str, reference: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(reference))


def token_f1(prediction: str, reference: str) -> float:
    predicted = normalize_answer(prediction).split()
    wanted = normalize_answer(reference).split()
    if not predicted or not wanted:
        return float(predicted == wanted)
    same = sum((Counter(predicted) & Counter(wanted)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(wanted)
    return 2 * precision * recall / (precision + recall)


def squad_scores(hyps: list[str], refs: list[list[str]]) -> dict[str, list[float]]:
    return {"exact_match": [max(exact_match(h, r) for r in rs) for h, rs in zip(hyps, refs)],
            "f1": [max(token_f1(h, r) for r in rs) for h, rs in zip(hyps, refs)]}
