"""Scoring rules: when a pair judged in one or both orders counts as judged correctly.

For one pair with gold label g (the better model, or tie) and the winner chosen in each order
(``ab``: model_a shown first; ``ba``: swapped; None when the verdict is invalid or the order was not
judged):

- ``conservative`` — MT-Bench (Zheng et al. 2023, "Judging LLM-as-a-Judge", on swapping positions): the pair's verdict
  is the winner of both orders when they agree and a tie when they flip; correct iff it equals g.
  Needs both orders valid (a pair judged once uses its one verdict); pairs with an invalid verdict
  are left out, as evalkit's scores leave them out.
- ``sum`` — JudgeBench (Tan et al. 2024; its ``utils/metrics.py``): each order scores +1 when its
  winner is g, −1 when it is the other side, 0 otherwise (a tie verdict, an invalid one, a missing
  order); the pair is correct iff the sum is > 0. n is every labelled pair — an unanswered order
  counts 0, so a judge gains nothing by failing to answer. This is JudgeBench's headline score.
- ``first-order`` — the original order's verdict alone (JudgeBench's single-game score): correct iff
  the ``ab`` winner is g; an invalid verdict is wrong; n is every pair judged in that order.

Per-order accuracies (``ab``, ``ba``) score each order's verdict alone the same way. With g = tie
(human-labelled data), a tie verdict counts as the right side and either win as the wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

POLICIES = ("conservative", "sum", "first-order")


@dataclass(frozen=True)
class PairOutcome:
    """Correctness of one gold-labelled pair under each rule (None: not counted under that rule)."""

    conservative: float | None
    sum: float
    first_order: float | None
    ab: float | None
    ba: float | None


def _winner(row: dict[str, Any] | None) -> str | None:
    return row["winner"] if row is not None and row["valid"] else None


def _vote(winner: str | None, gold: str, model_a: str, model_b: str) -> int:
    """+1 right, −1 wrong, 0 neither (a tie against a win, or no verdict)."""
    if winner is None:
        return 0
    if gold == "tie":
        return 1 if winner == "tie" else -1
    other = model_b if gold == model_a else model_a
    return 1 if winner == gold else -1 if winner == other else 0


def outcome(pair: dict[str, dict[str, Any]], gold: str) -> PairOutcome:
    """How one pair (order → row) scores against its gold label under every rule."""
    row = pair.get("ab") or pair["ba"]
    model_a, model_b = row["model_a"], row["model_b"]
    ab, ba = pair.get("ab"), pair.get("ba")
    w_ab, w_ba = _winner(ab), _winner(ba)
    present = [r for r in (ab, ba) if r is not None]
    if all(r["valid"] for r in present):
        winners = {r["winner"] for r in present}
        combined = winners.pop() if len(winners) == 1 else "tie"
        conservative: float | None = float(combined == gold)
    else:
        conservative = None
    total = _vote(w_ab, gold, model_a, model_b) + _vote(w_ba, gold, model_a, model_b)
    return PairOutcome(
        conservative=conservative,
        sum=float(total > 0),
        first_order=None if ab is None else float(w_ab == gold),
        ab=None if ab is None else float(w_ab == gold),
        ba=None if ba is None else float(w_ba == gold),
    )
