"""The judge-bias audit: position, length, style, self-enhancement and gold agreement, each with a CI.

Input is judgment rows (see ``records``); output is results.json's ``judge_bias`` section::

    {JUDGE: {"position": {"consistency", "first_position_share", "second_position_share",
                          "favours_first", "favours_second"},
             "length": {"raw_win_rate", "lc_win_rate", "padding_preference", "length_coef", "length_penalty_c"},
             "style": {"win_rate", "length_coef", "headers_coef", "bold_coef", "lists_coef"},
             "self_enhancement": {"model", "family", "self_win_rate", "reference_win_rate", "difference", "reference"},
             "agreement": {"accuracy", "kappa", "accuracy_sum", "accuracy_first_order", "accuracy_order_ab",
                           "accuracy_order_ba", "by_<group>": {VALUE: {RULE: M}}},
             "by_matchup": {"MODEL_A vs MODEL_B": {"length": {...}, "style": {...}}}}}  # several candidates

every figure M = {"value", "stderr", "ci95", "n"} (value None when the data cannot support it; a
``note`` says why a CI is missing). The bootstrap resamples *pairs* (both orders move together).

- position (pairs judged in both orders, both valid): consistency = the same winner in both orders;
  strict (MT-Bench Table 2) first/second_position_share = the first / second shown response chosen in
  both orders; non-strict favours_first / favours_second = the orders' slot votes (+1 first, −1 second,
  0 tie) sum > 0 / < 0, so a tie in one order and a first-slot win in the other leans first.
  favours_first + favours_second + consistency = 1.
- length (pairwise, model_a against model_b, probes excluded): raw = model_a's mean score (the orders'
  scores averaged, a tie 0.5); lc = the AlpacaEval-style GLM's σ(θ) (``glm``), its interval refitting
  the penalty per resample. padding_preference = the padded copy's mean score against its original.
- style: Arena-Hard's style control (``style``): σ(θ) at equal length and markdown density.
  With several (model_a, model_b) match-ups for one judge, ``by_matchup`` repeats length and style for
  each, since the pooled figures mix candidates.
- self-enhancement: for the candidate of the judge's family (``families``), its win rate as scored by
  this judge against the same pairs scored by the other judges (their mean) or, without others, by gold.
- agreement: ``accuracy``/``kappa`` under the conservative rule (a flip is a tie); the pairwise accuracy
  under JudgeBench's ``sum`` rule and the ``first-order`` rule, per order, and per group (``policies``).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from evalkit.judging.agreement import cohen_kappa
from evalkit.judging.families import family
from evalkit.judging.glm import N_FOLDS, fit_length_glm
from evalkit.judging.policies import PairOutcome, outcome
from evalkit.judging.style import FEATURES, Style, style_controlled
from evalkit.stats.uncertainty import bootstrap_statistic

Row = dict[str, Any]
Pair = dict[str, Row]  # order → row, for one (benchmark, id, judge, models, probe)
STYLE_RESAMPLES = 200  # each resample refits the style model (~5 ms on 805 pairs); Arena-Hard uses 100
EMPTY: dict[str, Any] = {"value": None, "stderr": None, "ci95": [None, None], "n": 0}


def figure(items: Sequence[Any], statistic: Callable[[list[Any]], float], n_resamples: int,
           seed: int = 0) -> dict[str, Any]:
    """M for a statistic over items: its value and, with resamples, a percentile-bootstrap CI.

    An interval of zero width is given only when every item is the same (every resample then truly
    agrees); when the items differ but every resample gave one value, something other than the data
    fixed it (an L1 penalty that zeroes the coefficient, say): the CI is left out with a ``note``."""
    if not items:
        return dict(EMPTY)
    if n_resamples <= 0:
        value = float(statistic(list(items)))
        return {"value": None if math.isnan(value) else value, "stderr": None, "ci95": [None, None], "n": len(items)}
    result = bootstrap_statistic(list(items), statistic, n_resamples=n_resamples, seed=seed)
    if result["value"] is not None and math.isnan(result["value"]):  # type: ignore[arg-type]
        return {**EMPTY, "n": len(items)}
    return honest(result, items)


def honest(result: dict[str, Any], items: Sequence[Any]) -> dict[str, Any]:
    """``result`` without its CI when the CI has zero width although the items differ."""
    lo, hi = result["ci95"]
    if lo is not None and lo == hi and len({repr(x) for x in items}) > 1:
        return {**result, "stderr": None, "ci95": [None, None],
                "note": f"every bootstrap resample gave {lo:.4g} although the data vary: the estimator, not the "
                        "data, fixes the value, so no interval is given"}
    return result


def _mean(values: list[float]) -> float:
    return float(np.mean(values))


def pairs_by_judge(rows: list[Row]) -> dict[str, list[Pair]]:
    """Pairwise rows grouped into pairs (both orders together), per judge."""
    grouped: dict[tuple[Any, ...], Pair] = defaultdict(dict)
    for row in rows:
        if row["kind"] == "pairwise":
            key = (row["judge"], row["benchmark"], row["id"], row["model_a"], row["model_b"], row.get("probe"))
            grouped[key][row["order"]] = row
    out: dict[str, list[Pair]] = defaultdict(list)
    for key, pair in grouped.items():
        out[key[0]].append(pair)
    return out


def _row(pair: Pair) -> Row:
    return pair.get("ab") or pair["ba"]


def pair_score(pair: Pair, policy: str = "balanced") -> float | None:
    """model_a's score for the pair: None if any order is invalid; with two orders, ``balanced``
    averages them and ``conservative`` makes a flip with the order a tie."""
    scores = [row.get("score") for row in pair.values()]
    if any(s is None or not row["valid"] for s, row in zip(scores, pair.values())):
        return None
    if len(scores) == 1 or policy == "balanced":
        return float(np.mean(scores))  # type: ignore[arg-type]
    winners = {row["winner"] for row in pair.values()}
    return float(scores[0]) if len(winners) == 1 else 0.5  # type: ignore[arg-type]


def _label(score: float) -> str:
    return "A" if score > 0.5 else "B" if score < 0.5 else "TIE"


def _slot(verdict: str) -> int:
    """+1 for the response shown first, −1 for the second, 0 for a tie."""
    return 1 if verdict == "A" else -1 if verdict == "B" else 0


def position_section(pairs: list[Pair], n_resamples: int, seed: int = 0) -> dict[str, Any]:
    """Strict (MT-Bench) and non-strict (JudgeBench-style) position figures over pairs judged in both orders."""
    both = [(p["ab"], p["ba"]) for p in pairs if not _row(p).get("probe") and "ab" in p and "ba" in p
            and p["ab"]["valid"] and p["ba"]["valid"]]
    consistent = [float(ab["winner"] == ba["winner"]) for ab, ba in both]
    first = [float(ab["winner"] != ba["winner"] and ab["verdict"] == ba["verdict"] == "A") for ab, ba in both]
    second = [float(ab["winner"] != ba["winner"] and ab["verdict"] == ba["verdict"] == "B") for ab, ba in both]
    lean = [_slot(ab["verdict"]) + _slot(ba["verdict"]) for ab, ba in both]
    return {"consistency": figure(consistent, _mean, n_resamples, seed),
            "first_position_share": figure(first, _mean, n_resamples, seed),
            "second_position_share": figure(second, _mean, n_resamples, seed),
            "favours_first": figure([float(v > 0) for v in lean], _mean, n_resamples, seed),
            "favours_second": figure([float(v < 0) for v in lean], _mean, n_resamples, seed)}


def length_section(rows: list[Row], n_resamples: int = 1000, seed: int = 0, lc_resamples: int = 100,
                   judge: str | None = None) -> dict[str, Any]:
    """Raw and length-controlled win rate of model_a, and the padding probe, for one judge's rows.

    The LC interval refits the whole GLM, its cross-validated choice of penalty included, inside each
    resample (folds follow the original pairs, so a pair drawn twice never validates itself)."""
    by_judge = pairs_by_judge(rows)
    pairs = by_judge.get(judge, []) if judge is not None else [p for ps in by_judge.values() for p in ps]
    scored = [(pair_score(p), _row(p)) for p in pairs if not _row(p).get("probe")]
    data = [(s, r.get("len_a"), r.get("len_b")) for s, r in scored if s is not None]
    section: dict[str, Any] = {"raw_win_rate": figure([s for s, _, _ in data], _mean, n_resamples, seed)}
    usable = [(s, a, b, i) for i, (s, a, b) in enumerate(d for d in data if d[1] is not None and d[2] is not None)]
    if len(usable) >= 10 and len({a - b for _, a, b, _ in usable}) > 1:  # type: ignore[operator]
        arr = np.array(usable, dtype=float)
        full = fit_length_glm(arr[:, 0], arr[:, 1], arr[:, 2])

        def lc(items: list[Any]) -> float:
            sub = np.array(items, dtype=float)
            return fit_length_glm(sub[:, 0], sub[:, 1], sub[:, 2], folds=sub[:, 3].astype(int) % N_FOLDS).lc_win_rate

        section["lc_win_rate"] = figure(usable, lc, min(n_resamples, lc_resamples), seed)
        section["lc_win_rate"]["value"] = full.lc_win_rate  # the cross-validated fit, as AlpacaEval reports
        section["length_coef"] = full.phi
        section["length_penalty_c"] = full.c
    else:
        section["lc_win_rate"] = dict(EMPTY)
    padded = [pair_score(p) for p in pairs if _row(p).get("probe") == "padding"]
    # in a probe pair model_a is the original and model_b the padded copy
    section["padding_preference"] = figure([1 - s for s in padded if s is not None], _mean, n_resamples, seed)
    return section


def style_section(pairs: list[Pair], n_resamples: int, seed: int = 0) -> dict[str, Any]:
    """Arena-Hard style control for model_a against model_b: the win rate at equal length and markdown
    density, and each covariate's coefficient, all from one bootstrap that refits every resample."""
    items = []
    for p in pairs:
        r, s = _row(p), pair_score(p)
        a, b = Style.of(r.get("len_a"), r.get("md_a")), Style.of(r.get("len_b"), r.get("md_b"))
        if s is not None and a is not None and b is not None and not r.get("probe"):
            items.append((s, a, b))
    names = ["win_rate", *(f"{f}_coef" for f in FEATURES)]
    if len(items) < 10:
        return {name: dict(EMPTY) for name in names}

    def fit(sample: list[Any]) -> np.ndarray:
        theta, gamma = style_controlled([s for s, _, _ in sample], [(a, b) for _, a, b in sample])
        return np.concatenate([[math.exp(-np.logaddexp(0.0, -theta))], gamma])

    point = fit(items)
    out = {name: {"value": float(v), "stderr": None, "ci95": [None, None], "n": len(items)}
           for name, v in zip(names, point)}
    if n_resamples > 0:
        rng = np.random.default_rng(seed)
        draws = np.array([fit([items[j] for j in rng.integers(0, len(items), len(items))])
                          for _ in range(n_resamples)])
        lo, hi = np.percentile(draws, [2.5, 97.5], axis=0)
        for k, name in enumerate(names):
            out[name] = honest({**out[name], "stderr": float(draws[:, k].std(ddof=1)),
                                "ci95": [float(lo[k]), float(hi[k])]}, items)
    return out


def _gold_score(gold: str | None, model: str, other: str) -> float | None:
    if gold is None:
        return None
    return 0.5 if gold == "tie" else 1.0 if gold == model else 0.0 if gold == other else None


def self_section(by_judge: dict[str, list[Pair]], judge: str, n_resamples: int, seed: int = 0,
                 families: dict[str, str] | None = None) -> dict[str, Any]:
    fam = family(judge, families)
    own = [p for p in by_judge.get(judge, []) if not _row(p).get("probe")]
    counts = Counter(m for p in own for m in (_row(p)["model_a"], _row(p)["model_b"]) if family(m, families) == fam)
    empty = {"model": None, "family": fam, "reference": None, "self_win_rate": dict(EMPTY),
             "reference_win_rate": dict(EMPTY), "difference": dict(EMPTY)}
    if not counts:
        return empty
    model = counts.most_common(1)[0][0]
    others: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    for other, pairs in by_judge.items():
        for p in pairs if other != judge else ():
            r, s = _row(p), pair_score(p)
            if s is not None and model in (r["model_a"], r["model_b"]) and not r.get("probe"):
                others[(r["benchmark"], r["id"], r["model_a"], r["model_b"])].append(s)
    paired, reference = [], "judges" if others else "gold"
    for p in own:
        r, s = _row(p), pair_score(p)
        if s is None or model not in (r["model_a"], r["model_b"]):
            continue
        flip = r["model_a"] != model
        mine = 1 - s if flip else s
        if others:
            ref_scores = others.get((r["benchmark"], r["id"], r["model_a"], r["model_b"]))
            ref = float(np.mean(ref_scores)) if ref_scores else None
            ref = None if ref is None else (1 - ref if flip else ref)
        else:
            ref = _gold_score(r.get("gold"), model, r["model_b"] if not flip else r["model_a"])
        if ref is not None:
            paired.append((mine, ref))
    if not paired:
        return {**empty, "model": model}
    return {"model": model, "family": fam, "reference": reference,
            "self_win_rate": figure(paired, lambda xs: float(np.mean([a for a, _ in xs])), n_resamples, seed),
            "reference_win_rate": figure(paired, lambda xs: float(np.mean([b for _, b in xs])), n_resamples, seed),
            "difference": figure(paired, lambda xs: float(np.mean([a - b for a, b in xs])), n_resamples, seed)}


def _accuracies(labelled: list[tuple[PairOutcome, Any]], n_resamples: int, seed: int) -> dict[str, Any]:
    """Accuracy under each scoring rule and per order (see ``policies``)."""
    def of(attr: str) -> dict[str, Any]:
        return figure([v for v in (getattr(o, attr) for o, _ in labelled) if v is not None], _mean, n_resamples, seed)

    return {"conservative": of("conservative"), "sum": of("sum"), "first-order": of("first_order"),
            "order_ab": of("ab"), "order_ba": of("ba")}


def agreement_section(pairs: list[Pair], pointwise: list[Row], n_resamples: int, seed: int = 0,
                      group_by: str | None = "category") -> dict[str, Any]:
    """Accuracy and Cohen's κ of the judge's verdicts against gold labels (pairwise and pointwise),
    the pairwise accuracy under every scoring rule and per order, overall and per ``group_by`` value."""
    labelled, outcomes = [], []
    for p in pairs:
        r, s = _row(p), pair_score(p, "conservative")
        gold = _gold_score(r.get("gold"), r["model_a"], r["model_b"])
        if gold is None or r.get("probe"):
            continue
        outcomes.append((outcome(p, r["gold"]), r.get(group_by) if group_by else None))
        if s is not None:
            labelled.append((_label(s), _label(gold)))
    labelled += [(r["verdict"], r["gold"]) for r in pointwise if r["valid"] and r.get("gold") in ("PASS", "FAIL")]
    rules = _accuracies(outcomes, n_resamples, seed)
    section: dict[str, Any] = {
        "accuracy": figure([float(a == b) for a, b in labelled], _mean, n_resamples, seed),
        "kappa": figure(labelled, lambda xs: cohen_kappa([a for a, _ in xs], [b for _, b in xs]), n_resamples, seed),
        **{f"accuracy_{name.replace('-', '_')}": m for name, m in rules.items() if name != "conservative"},
    }
    values = sorted({str(g) for _, g in outcomes if g is not None})
    if group_by and values:
        section["by_" + group_by] = {v: _accuracies([o for o in outcomes if str(o[1]) == v], n_resamples, seed)
                                     for v in values}
    return section


def audit(rows: list[Row], n_resamples: int = 1000, seed: int = 0, lc_resamples: int = 100,
          families: dict[str, str] | None = None, group_by: str | None = "category") -> dict[str, Any]:
    """The whole ``judge_bias`` section for every judge in ``rows``."""
    by_judge = pairs_by_judge(rows)
    judges = sorted({r["judge"] for r in rows})
    out = {}
    for judge in judges:
        pairs = by_judge.get(judge, [])
        pointwise = [r for r in rows if r["judge"] == judge and r["kind"] == "pointwise"]
        out[judge] = {
            "position": position_section(pairs, n_resamples, seed),
            "length": length_section(rows, n_resamples, seed, lc_resamples, judge=judge),
            "style": style_section(pairs, min(n_resamples, STYLE_RESAMPLES), seed),
            "self_enhancement": self_section(by_judge, judge, n_resamples, seed, families),
            "agreement": agreement_section(pairs, pointwise, n_resamples, seed, group_by),
            "n_judgments": sum(1 for r in rows if r["judge"] == judge),
            "n_invalid": sum(1 for r in rows if r["judge"] == judge and not r["valid"]),
        }
        matchups = sorted({(r["model_a"], r["model_b"]) for r in rows
                           if r["judge"] == judge and r["kind"] == "pairwise" and not r.get("probe")})
        if len(matchups) > 1:  # several candidates (files) for one judge: their win rates kept apart
            out[judge]["by_matchup"] = {
                f"{a} vs {b}": {
                    "length": length_section([r for r in rows if (r["model_a"], r["model_b"]) == (a, b)],
                                             n_resamples, seed, lc_resamples, judge=judge),
                    "style": style_section([p for p in pairs if (_row(p)["model_a"], _row(p)["model_b"]) == (a, b)],
                                           min(n_resamples, STYLE_RESAMPLES), seed)}
                for a, b in matchups}
    return out
