"""Length-controlled win rate: AlpacaEval's GLM, "minimal" variant, without its downloaded extras.

Per pair, the candidate's preference p ∈ [0, 1] (1 = candidate better, 0.5 = tie) is modelled as

    logit P(candidate better) = θ + φ · tanh(Δ / sd(Δ)),   Δ = len(baseline) − len(candidate) in characters

θ is the model term, φ the length term. The fit is AlpacaEval's: L1-penalised logistic regression
on soft labels (each pair counted as p of a win and 1 − p of a loss), no intercept, the penalty's
strength C chosen from ``CS`` by 5-fold cross-validated log loss and refit on all pairs. The
length-controlled win rate is the prediction with Δ = 0: σ(θ). Folds are fixed (pair i → fold i mod
5) so the figure does not move with a library's fold assignment. The instruction-difficulty term of
AlpacaEval's ``length_controlled_v1`` is not used: it is downloaded at run time and not available
offline (see docs/judges.md for the gap this leaves).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

CS = np.logspace(-4, 4, 10)  # scikit-learn's LogisticRegressionCV default grid, as AlpacaEval uses
N_FOLDS = 5
_EPS = 1e-15


@dataclass(frozen=True)
class LengthFit:
    theta: float  # model term (log-odds of winning at equal length)
    phi: float  # length term
    c: float  # chosen inverse penalty strength
    lc_win_rate: float  # σ(θ), in [0, 1]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


def design(len_candidate: np.ndarray, len_baseline: np.ndarray) -> np.ndarray:
    """Columns [tanh(standardised Δ), 1] with Δ = baseline − candidate length (AlpacaEval's orientation)."""
    delta = np.asarray(len_baseline, float) - np.asarray(len_candidate, float)
    sd = delta.std(ddof=1) if delta.size > 1 else 0.0
    scaled = np.tanh(delta / sd) if sd > 0 else np.zeros_like(delta)
    return np.column_stack([scaled, np.ones_like(delta)])


def _objective(x: np.ndarray, p: np.ndarray, w: np.ndarray, lam: float) -> float:
    margin = x @ w
    return float(lam * np.abs(w).sum() + np.sum(p * np.logaddexp(0.0, -margin) + (1 - p) * np.logaddexp(0.0, margin)))


def fit_l1(x: np.ndarray, p: np.ndarray, c: float, tol: float = 1e-12, max_iter: int = 200,
           start: np.ndarray | None = None) -> np.ndarray:
    """argmin_w ‖w‖₁ + C Σ [p·log(1+e^{-xw}) + (1−p)·log(1+e^{xw})] (liblinear's objective, no intercept).

    Proximal Newton: each step minimises the quadratic model of the loss plus the L1 term (λ = 1/C,
    the objective divided by C) exactly, then backtracks until the objective drops.
    With two coefficients this converges in a few dozen vectorised passes; ``start`` (the solution at
    a neighbouring C) makes it a few. The optimum does not depend on the start (the problem is convex).
    """
    k = x.shape[1]
    lam = 1.0 / c
    w = np.zeros(k) if start is None else np.array(start, float)
    current = _objective(x, p, w, lam)
    for _ in range(max_iter):
        q = _sigmoid(x @ w)
        grad = x.T @ (q - p)
        hess = (x * (q * (1 - q))[:, None]).T @ x + 1e-12 * np.eye(k)
        target = _quadratic_l1(grad, hess, w, lam)
        step, direction = 1.0, np.array(target) - w
        while step > 1e-10:
            trial = w + step * direction
            value = _objective(x, p, trial, lam)
            if value <= current:
                break
            step /= 2
        else:
            return w
        w, moved, current = trial, float(np.max(np.abs(step * direction))), value
        if moved < tol:
            break
    return w


def _quadratic_l1(g: np.ndarray, h: np.ndarray, w: np.ndarray, lam: float) -> np.ndarray:
    """argmin_v g·(v−w) + ½(v−w)ᵀH(v−w) + λ‖v‖₁ for two coefficients, exactly: each is 0, positive or
    negative; for each sign pattern the free part solves a linear system, kept if its signs hold. The
    problem is convex, so the best consistent pattern is the minimum. Plain floats: numpy's per-call
    overhead would cost more than this arithmetic."""
    (a, b), (_, d) = h.tolist()
    g0, g1 = g.tolist()
    w0, w1 = w.tolist()

    def value(v0: float, v1: float) -> float:
        d0, d1 = v0 - w0, v1 - w1
        return g0 * d0 + g1 * d1 + 0.5 * (a * d0 * d0 + 2 * b * d0 * d1 + d * d1 * d1) + lam * (abs(v0) + abs(v1))

    best, best_value = (0.0, 0.0), value(0.0, 0.0)
    det = a * d - b * b
    for s0, s1 in itertools.product((0, 1, -1), repeat=2):
        if s0 and s1:
            r0, r1 = -(g0 + lam * s0), -(g1 + lam * s1)  # H·(v − w) = r
            v0, v1 = w0 + (r0 * d - r1 * b) / det, w1 + (r1 * a - r0 * b) / det
        elif s0:
            v0, v1 = w0 + (b * w1 - g0 - lam * s0) / a, 0.0
        elif s1:
            v0, v1 = 0.0, w1 + (b * w0 - g1 - lam * s1) / d
        else:
            continue
        if (s0 and math.copysign(1, v0) != s0) or (s1 and math.copysign(1, v1) != s1):
            continue
        candidate = value(v0, v1)
        if candidate < best_value:
            best, best_value = (v0, v1), candidate
    return np.array(best)


def _log_loss(x: np.ndarray, p: np.ndarray, w: np.ndarray) -> float:
    q = np.clip(_sigmoid(x @ w), _EPS, 1 - _EPS)
    return float(-np.mean(p * np.log(q) + (1 - p) * np.log(1 - q)))


def choose_c(x: np.ndarray, p: np.ndarray, folds: np.ndarray, cs: np.ndarray = CS) -> float:
    """The C with the lowest mean validation log loss over the folds (first one on ties)."""
    losses = np.zeros(len(cs))
    fold_ids = np.unique(folds)
    for fold in fold_ids:
        train, test = folds != fold, folds == fold
        w = None
        for j, c in enumerate(cs):  # ascending C: each fit starts from the previous solution
            w = fit_l1(x[train], p[train], c, start=w)
            losses[j] += _log_loss(x[test], p[test], w)
    return float(cs[int(np.argmin(losses / len(fold_ids)))])


def fit_length_glm(preference: np.ndarray, len_candidate: np.ndarray, len_baseline: np.ndarray,
                   c: float | None = None, folds: np.ndarray | None = None) -> LengthFit:
    """Fit the GLM; ``c`` skips the cross-validation (bootstrap resamples reuse the full-data choice)."""
    p = np.asarray(preference, float)
    x = design(len_candidate, len_baseline)
    if c is None:
        folds = np.arange(len(p)) % N_FOLDS if folds is None else np.asarray(folds)
        c = choose_c(x, p, folds)
    phi, theta = fit_l1(x, p, c)
    return LengthFit(theta=float(theta), phi=float(phi), c=c, lc_win_rate=float(_sigmoid(np.array(theta))))
