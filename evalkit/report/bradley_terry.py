"""Bradley–Terry ratings from pairwise judge verdicts, with cluster-bootstrap 95% intervals.

P(i beats j) = p_i / (p_i + p_j). A tie counts as half a win for each side. Every model also plays
``prior`` virtual games against an average opponent (strength 1), winning half: a weak prior that keeps
ratings finite for a model that never (or always) wins and vanishes as real comparisons accumulate.
Ratings are shown on the Elo scale, 1000 + 400·log10(p_i / geometric mean of p).

The bootstrap resamples prompts (benchmark, id), not single verdicts: the two presentation orders of
one prompt, and every judge's verdict on it, are not independent evidence.

``style_control`` refits the same verdicts with Arena-Hard's length and markdown covariates
(``evalkit.judging.style``): logit P(i beats j) = θ_i − θ_j + γ·f(i, j), on the same Elo scale, so a
model that wins by being long or heavily formatted drops in that column. A subset of the data may
carry no style (judgments made before evalkit recorded ``md_a``/``md_b``): those verdicts are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Rating:
    model: str
    rating: float
    ci95: tuple[float, float] | None
    wins: float
    losses: float
    ties: int
    games: int


def _loglik(theta: np.ndarray, wins: np.ndarray, prior: float) -> float:
    diff = theta[:, None] - theta[None, :]
    ll = -(wins * np.logaddexp(0.0, -diff)).sum()  # Σ W_ij log σ(θ_i − θ_j)
    return float(ll - prior / 2 * (np.logaddexp(0.0, -theta) + np.logaddexp(0.0, theta)).sum())


def fit(wins: np.ndarray, prior: float = 1.0, tol: float = 1e-10, max_iter: int = 200) -> np.ndarray:
    """Strengths p = exp(θ) maximising the likelihood plus the virtual-game prior (Newton's method
    with step halving; the log-likelihood is concave). ``wins[i, j]`` counts i's wins over j, ties
    already split as halves. With ``prior`` 0 the MLE is only defined up to a constant and may not exist."""
    games = wins + wins.T
    won = wins.sum(axis=1) + prior / 2
    theta = np.zeros(wins.shape[0])
    current = _loglik(theta, wins, prior)
    for _ in range(max_iter):
        pi = 1.0 / (1.0 + np.exp(theta[None, :] - theta[:, None]))  # P(i beats j)
        sig = 1.0 / (1.0 + np.exp(-theta))
        grad = won - (games * pi).sum(axis=1) - prior * sig
        weight = games * pi * (1 - pi)
        hessian = weight - np.diag(weight.sum(axis=1) + prior * sig * (1 - sig))
        step = -np.linalg.lstsq(hessian, grad, rcond=None)[0]
        scale = 1.0
        while scale > 1e-8:
            trial = theta + scale * step
            value = _loglik(trial, wins, prior)
            if value >= current - 1e-12:
                break
            scale /= 2
        theta, previous, current = trial, current, value
        if np.max(np.abs(scale * step)) < tol or abs(current - previous) < tol * max(1.0, abs(current)):
            break
    return np.exp(theta - (theta.mean() if prior == 0 else 0.0))


def elo(p: np.ndarray) -> np.ndarray:
    logs = np.log10(p)
    return 1000 + 400 * (logs - logs.mean())


def pairwise_rows(judgments: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Valid pairwise verdicts with a winner, deduplicated (the same file may be read from two runs)."""
    seen = set()
    rows = []
    for row in judgments:
        if row.get("kind") != "pairwise" or not row.get("valid") or row.get("winner") in (None, "") \
                or row.get("probe"):  # a padding probe pits a response against its own padded copy
            continue
        key = (row.get("judge"), row.get("benchmark"), row.get("id"), row.get("model_a"), row.get("model_b"),
               row.get("order"))
        if key in seen:
            continue
        seen.add(key)
        rows.append(row)
    return rows


def ratings(judgments: Iterable[dict[str, Any]], n_bootstrap: int = 200, seed: int = 0,
            prior: float = 1.0) -> list[Rating]:
    """Models ranked by Bradley–Terry rating, best first; empty when there are no pairwise verdicts."""
    rows = pairwise_rows(judgments)
    models = sorted({str(r["model_a"]) for r in rows} | {str(r["model_b"]) for r in rows})
    if len(models) < 2:
        return []
    index = {m: i for i, m in enumerate(models)}
    clusters: dict[tuple[Any, Any], int] = {}
    per_cluster: list[Any] = []
    ties = np.zeros(len(models), dtype=int)
    for row in rows:
        a, b = index[str(row["model_a"])], index[str(row["model_b"])]
        if a == b:
            continue
        key = (row.get("benchmark"), row.get("id"))
        if key not in clusters:
            clusters[key] = len(per_cluster)
            per_cluster.append(np.zeros((len(models), len(models))))
        matrix = per_cluster[clusters[key]]
        winner = row["winner"]
        if winner == "tie":
            matrix[a, b] += 0.5
            matrix[b, a] += 0.5
            ties[[a, b]] += 1
        elif str(winner) == str(row["model_a"]):
            matrix[a, b] += 1
        elif str(winner) == str(row["model_b"]):
            matrix[b, a] += 1
    if not per_cluster:
        return []
    stack = np.stack(per_cluster)
    wins = stack.sum(axis=0)
    point = elo(fit(wins, prior))
    intervals: list[tuple[float, float] | None] = [None] * len(models)
    if n_bootstrap > 0:
        rng = np.random.default_rng(seed)
        k = stack.shape[0]
        draws = np.empty((n_bootstrap, len(models)))
        for i in range(n_bootstrap):
            counts = rng.multinomial(k, np.full(k, 1.0 / k))
            draws[i] = elo(fit(np.tensordot(counts, stack, axes=1), prior))
        lo, hi = np.percentile(draws, [2.5, 97.5], axis=0)
        intervals = [(float(a), float(b)) for a, b in zip(lo, hi)]
    games = wins + wins.T
    result = [Rating(m, float(point[i]), intervals[i], float(wins[i].sum() - ties[i] / 2),
                     float(wins[:, i].sum() - ties[i] / 2), int(ties[i]), int(round(games[i].sum())))
              for i, m in enumerate(models)]
    return sorted(result, key=lambda r: -r.rating)


@dataclass
class StyleControl:
    """Arena-Hard style control over the same verdicts: ratings at equal style and the covariates'
    coefficients, each with a cluster-bootstrap interval (see ``evalkit.judging.style``)."""

    ratings: dict[str, tuple[float, tuple[float, float] | None]]  # model → (Elo-scale rating, CI)
    coefficients: dict[str, tuple[float, tuple[float, float] | None]]  # feature → (γ, CI)
    n_battles: int


def _style_elo(theta: np.ndarray) -> np.ndarray:
    return 1000 + 400 / np.log(10) * (theta - theta.mean())


def style_control(judgments: Iterable[dict[str, Any]], n_bootstrap: int = 200, seed: int = 0) -> StyleControl | None:
    """Style-controlled ratings, or None when fewer than 10 verdicts carry both responses' style
    (``len_a``/``len_b`` and ``md_a``/``md_b``) or fewer than two models take part."""
    from evalkit.judging.style import FEATURES, Style, style_ratings

    rows = pairwise_rows(judgments)
    models = sorted({str(r["model_a"]) for r in rows} | {str(r["model_b"]) for r in rows})
    index = {m: i for i, m in enumerate(models)}
    clusters: dict[tuple[Any, Any], list[tuple[int, int, float, Style, Style]]] = {}
    for row in rows:
        a, b = Style.of(row.get("len_a"), row.get("md_a")), Style.of(row.get("len_b"), row.get("md_b"))
        i, j = index[str(row["model_a"])], index[str(row["model_b"])]
        if a is None or b is None or i == j:
            continue
        score = 0.5 if row["winner"] == "tie" else float(str(row["winner"]) == str(row["model_a"]))
        clusters.setdefault((row.get("benchmark"), row.get("id")), []).append((i, j, score, a, b))
    battles = [b for group in clusters.values() for b in group]
    if len(battles) < 10 or len(models) < 2:
        return None
    theta, gamma = style_ratings(battles, len(models))
    point = np.concatenate([_style_elo(theta), gamma])
    intervals: list[tuple[float, float] | None] = [None] * len(point)
    if n_bootstrap > 0:
        rng = np.random.default_rng(seed)
        groups = list(clusters.values())
        draws = np.empty((n_bootstrap, len(point)))
        for k in range(n_bootstrap):
            sample = [b for g in rng.integers(0, len(groups), len(groups)) for b in groups[g]]
            t, g_ = style_ratings(sample, len(models))
            draws[k] = np.concatenate([_style_elo(t), g_])
        lo, hi = np.percentile(draws, [2.5, 97.5], axis=0)
        # a zero-width interval would claim a certainty no resample of varied data has: leave it out
        intervals = [(float(a), float(b)) if b > a else None for a, b in zip(lo, hi)]
    return StyleControl(
        ratings={m: (float(point[i]), intervals[i]) for i, m in enumerate(models)},
        coefficients={f: (float(point[len(models) + k]), intervals[len(models) + k]) for k, f in enumerate(FEATURES)},
        n_battles=len(battles))
