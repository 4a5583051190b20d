"""The judge-bias audit: position, length, self-enhancement and gold agreement, each with a bootstrap CI.

Input is judgment rows (see ``records``); output is results.json's ``judge_bias`` section::

    {JUDGE: {"position": {"consistency", "first_position_share", "second_position_share"},
             "length": {"raw_win_rate", "lc_win_rate", "padding_preference"},
             "self_enhancement": {"model", "self_win_rate", "reference_win_rate", "difference", "reference"},
             "agreement": {"accuracy", "kappa"}}}

every figure M = {"value", "stderr", "ci95", "n"} (value None when the data cannot support it). The
bootstrap resamples *pairs* (both orders of a pair move together). Definitions:

- position (pairs judged in both orders, both valid; MT-Bench Table 2): consistency = the same winner
  in both orders; first/second_position_share = inconsistent pairs where the judge chose the first /
  second shown position both times, as a share of all pairs.
- length (pairwise, model_a against model_b, probes excluded): raw = model_a's mean score (the orders'
  scores averaged, a tie 0.5); lc = the AlpacaEval-style GLM's σ(θ) (``glm``).
  padding_preference = the padded copy's mean score against its original (0.5 = no preference).
- self-enhancement: for the candidate of the judge's own family, its win rate as scored by this judge
  against the same pairs scored by the other judges (their mean) or, without others, by gold labels.
- agreement: the order-combined winner (a flip with the order is a tie) against gold: accuracy and κ.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from evalkit.judging.agreement import cohen_kappa
from evalkit.judging.glm import fit_length_glm
from evalkit.stats.uncertainty import bootstrap_statistic
from evalkit.types import JudgmentRow

Row = JudgmentRow
Pair = dict[str, Row]  # order → row, for one (benchmark, id, judge, models, probe)
EMPTY: dict[str, Any] = {"value": None, "stderr": None, "ci95": [None, None], "n": 0}


def figure(items: Sequence[Any], statistic: Callable[[list[Any]], float], n_resamples: int,
           seed: int = 0) -> dict[str, Any]:
    """M for a statistic over items: its value and, with resamples, a percentile-bootstrap CI."""
    if not items:
        return dict(EMPTY)
    if n_resamples <= 0:
        value = float(statistic(list(items)))
        return {"value": None if math.isnan(value) else value, "stderr": None, "ci95": [None, None], "n": len(items)}
    result = bootstrap_statistic(list(items), statistic, n_resamples=n_resamples, seed=seed)
    if result["value"] is not None and math.isnan(result["value"]):  # type: ignore[arg-type]
        return {**EMPTY, "n": len(items)}
    return result


def _mean(values: list[float]) -> float:
    return float(np.mean(values))


def family(name: str) -> str:
    """A model's family from its name: provider and path dropped, the leading letters ("gpt-4o" → "gpt")."""
    base = name.split(":", 1)[-1].rstrip("/").split("/")[-1].lower()
    match = re.match(r"[a-z]+", base)
    return match.group(0) if match else base


def pairs_by_judge(rows: Sequence[Row]) -> dict[str, list[Pair]]:
    """Pairwise rows grouped into pairs (both orders together), per judge."""
    grouped: dict[tuple[Any, ...], Pair] = defaultdict(dict)
    for row in rows:
        if row.kind == "pairwise":
            key = (row.judge, row.benchmark, row.id, row.model_a, row.model_b, row.probe)
            grouped[key][row.order] = row
    out: dict[str, list[Pair]] = defaultdict(list)
    for key, pair in grouped.items():
        out[key[0]].append(pair)
    return out


def _row(pair: Pair) -> Row:
    return pair.get("ab") or pair["ba"]


def pair_score(pair: Pair, policy: str = "balanced") -> float | None:
    """model_a's score for the pair: None if any order is invalid; with two orders, ``balanced``
    averages them and ``conservative`` makes a flip with the order a tie."""
    scores = [row.score for row in pair.values()]
    if any(s is None or not row.valid for s, row in zip(scores, pair.values())):
        return None
    if len(scores) == 1 or policy == "balanced":
        return float(np.mean(scores))  # type: ignore[arg-type]
    winners = {row.winner for row in pair.values()}
    return float(scores[0]) if len(winners) == 1 else 0.5  # type: ignore[arg-type]


def _label(score: float) -> str:
    return "A" if score > 0.5 else "B" if score < 0.5 else "TIE"


def position_section(pairs: list[Pair], n_resamples: int, seed: int = 0) -> dict[str, Any]:
    both = [(p["ab"], p["ba"]) for p in pairs if not _row(p).probe and "ab" in p and "ba" in p
            and p["ab"].valid and p["ba"].valid]
    consistent = [float(ab.winner == ba.winner) for ab, ba in both]
    first = [float(ab.winner != ba.winner and ab.verdict == ba.verdict == "A") for ab, ba in both]
    second = [float(ab.winner != ba.winner and ab.verdict == ba.verdict == "B") for ab, ba in both]
    return {"consistency": figure(consistent, _mean, n_resamples, seed),
            "first_position_share": figure(first, _mean, n_resamples, seed),
            "second_position_share": figure(second, _mean, n_resamples, seed)}


def length_section(rows: Sequence[Row], n_resamples: int = 1000, seed: int = 0, lc_resamples: int = 200,
                   judge: str | None = None) -> dict[str, Any]:
    """Raw and length-controlled win rate of model_a, and the padding probe, for one judge's rows."""
    by_judge = pairs_by_judge(rows)
    pairs = by_judge.get(judge, []) if judge is not None else [p for ps in by_judge.values() for p in ps]
    scored = [(pair_score(p), _row(p)) for p in pairs if not _row(p).probe]
    data = [(s, r.len_a, r.len_b) for s, r in scored if s is not None]
    section = {"raw_win_rate": figure([s for s, _, _ in data], _mean, n_resamples, seed)}
    usable = [d for d in data if d[1] is not None and d[2] is not None]
    if len(usable) >= 10 and len({a - b for _, a, b in usable}) > 1:  # type: ignore[operator]
        arr = np.array(usable, dtype=float)
        full = fit_length_glm(arr[:, 0], arr[:, 1], arr[:, 2])

        def lc(items: list[Any]) -> float:
            sub = np.array(items, dtype=float)
            return fit_length_glm(sub[:, 0], sub[:, 1], sub[:, 2], c=full.c).lc_win_rate

        section["lc_win_rate"] = figure(usable, lc, min(n_resamples, lc_resamples), seed)
        section["lc_win_rate"]["value"] = full.lc_win_rate  # the cross-validated fit, as AlpacaEval reports
        section["length_coef"] = full.phi
    else:
        section["lc_win_rate"] = dict(EMPTY)
    padded = [pair_score(p) for p in pairs if _row(p).probe == "padding"]
    # in a probe pair model_a is the original and model_b the padded copy
    section["padding_preference"] = figure([1 - s for s in padded if s is not None], _mean, n_resamples, seed)
    return section


def _gold_score(gold: str | None, model: str, other: str) -> float | None:
    if gold is None:
        return None
    return 0.5 if gold == "tie" else 1.0 if gold == model else 0.0 if gold == other else None


def self_section(by_judge: dict[str, list[Pair]], judge: str, n_resamples: int, seed: int = 0,
                 families: dict[str, str] | None = None) -> dict[str, Any]:
    fam = (families or {}).get(judge) or family(judge)
    own = [p for p in by_judge.get(judge, []) if not _row(p).probe]
    counts = Counter(m for p in own for m in (_row(p).model_a, _row(p).model_b)
                     if ((families or {}).get(m) or family(m)) == fam)
    empty = {"model": None, "reference": None, "self_win_rate": dict(EMPTY), "reference_win_rate": dict(EMPTY),
             "difference": dict(EMPTY)}
    if not counts:
        return empty
    model = counts.most_common(1)[0][0]
    others: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    for other, pairs in by_judge.items():
        for p in pairs if other != judge else ():
            r, s = _row(p), pair_score(p)
            if s is not None and model in (r.model_a, r.model_b) and not r.probe:
                others[(r.benchmark, r.id, r.model_a, r.model_b)].append(s)
    paired, reference = [], "judges" if others else "gold"
    for p in own:
        r, s = _row(p), pair_score(p)
        if s is None or model not in (r.model_a, r.model_b):
            continue
        flip = r.model_a != model
        mine = 1 - s if flip else s
        if others:
            ref_scores = others.get((r.benchmark, r.id, r.model_a, r.model_b))
            ref = float(np.mean(ref_scores)) if ref_scores else None
            ref = None if ref is None else (1 - ref if flip else ref)
        else:
            ref = _gold_score(r.gold, model, r.model_b if not flip else r.model_a)
        if ref is not None:
            paired.append((mine, ref))
    if not paired:
        return {**empty, "model": model}
    return {"model": model, "reference": reference,
            "self_win_rate": figure(paired, lambda xs: float(np.mean([a for a, _ in xs])), n_resamples, seed),
            "reference_win_rate": figure(paired, lambda xs: float(np.mean([b for _, b in xs])), n_resamples, seed),
            "difference": figure(paired, lambda xs: float(np.mean([a - b for a, b in xs])), n_resamples, seed)}


def agreement_section(pairs: list[Pair], pointwise: list[Row], n_resamples: int, seed: int = 0) -> dict[str, Any]:
    """Accuracy and Cohen's κ of the judge's verdicts against gold labels (pairwise and pointwise)."""
    labelled = []
    for p in pairs:
        r, s = _row(p), pair_score(p, "conservative")
        gold = _gold_score(r.gold, r.model_a, r.model_b)
        if s is not None and gold is not None and not r.probe:
            labelled.append((_label(s), _label(gold)))
    labelled += [(r.verdict, r.gold) for r in pointwise if r.valid and r.gold in ("PASS", "FAIL")]
    return {"accuracy": figure([float(a == b) for a, b in labelled], _mean, n_resamples, seed),
            "kappa": figure(labelled, lambda xs: cohen_kappa([a for a, _ in xs], [b for _, b in xs]),
                            n_resamples, seed)}


def audit(rows: Sequence[Row], n_resamples: int = 1000, seed: int = 0, lc_resamples: int = 200,
          families: dict[str, str] | None = None) -> dict[str, Any]:
    """The whole ``judge_bias`` section for every judge in ``rows``."""
    by_judge = pairs_by_judge(rows)
    judges = sorted({r.judge for r in rows})
    out = {}
    for judge in judges:
        pairs = by_judge.get(judge, [])
        pointwise = [r for r in rows if r.judge == judge and r.kind == "pointwise"]
        out[judge] = {
            "position": position_section(pairs, n_resamples, seed),
            "length": length_section(rows, n_resamples, seed, lc_resamples, judge=judge),
            "self_enhancement": self_section(by_judge, judge, n_resamples, seed, families),
            "agreement": agreement_section(pairs, pointwise, n_resamples, seed),
            "n_judgments": sum(1 for r in rows if r.judge == judge),
            "n_invalid": sum(1 for r in rows if r.judge == judge and not r.valid),
        }
    return out
