"""Judgment rows (``<run>/judgments.jsonl``) and the pairs a judge is audited on (read by ``inputs``).

One row per judge call that counts (after its retry), the contract the HTML report reads::

    {"benchmark", "id", "judge", "kind": "pairwise"|"pointwise", "model_a", "model_b",
     "order": "ab"|"ba", "verdict": "A"|"B"|"TIE"|"PASS"|"FAIL"|null, "winner": MODEL|"tie"|null,
     "valid": bool, "rationale"}

plus evalkit's own columns: ``score`` (model_a's score in [0, 1] from this call: 1 win, 0.5 tie, 0
loss; PASS = 1), ``len_a``/``len_b`` (characters of model_a's / model_b's response), ``gold`` (the
better model, "tie", or PASS/FAIL, when known), ``probe`` ("padding" for the padding probe),
``retried`` and ``problem`` (why a reply was invalid), ``template`` (the judge template used),
``md_a``/``md_b`` (markdown counts {headers, bold, lists} for style control), ``source`` (JudgeBench). In order "ab" model_a's response was shown
as Response A; in "ba" as Response B.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class PairItem:
    """Two responses to one prompt, to be judged; ``gold`` names the better model when known."""

    id: str
    prompt: str
    response_a: str
    response_b: str
    model_a: str
    model_b: str
    gold: str | None = None
    reference: str | None = None
    category: str | None = None


def winner_of(verdict: str | None, order: str, model_a: str, model_b: str) -> str | None:
    """The model a pairwise verdict picks, given the order the responses were shown in."""
    if verdict is None:
        return None
    if verdict == "TIE":
        return "tie"
    shown_first, shown_second = (model_a, model_b) if order == "ab" else (model_b, model_a)
    return shown_first if verdict == "A" else shown_second


def score_of(winner: str | None, model_a: str) -> float | None:
    """model_a's score from a winner: 1 win, 0.5 tie, 0 loss; None when there is no verdict."""
    if winner is None:
        return None
    return 0.5 if winner == "tie" else float(winner == model_a)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write rows atomically (a crash leaves the previous file, never half of one)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
