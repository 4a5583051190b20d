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


def fit_l1(x: np.ndarray, p: np.ndarray, c: float) -> np.ndarray:
    """argmin_w ‖w‖₁ + C Σ [p·log(1+e^{-xw}) + (1−p)·log(1+e^{xw})] (liblinear's objective, no intercept)."""
    from scipy.optimize import minimize

    k, n = x.shape[1], max(len(p), 1)

    def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        w = z[:k] - z[k:]
        margin = x @ w
        loss = float(np.sum(p * np.logaddexp(0.0, -margin) + (1 - p) * np.logaddexp(0.0, margin)))
        grad_w = x.T @ (_sigmoid(margin) - p)
        # divided by C·n: the same minimiser, well scaled for every C in the grid
        value = (z.sum() / c + loss) / n
        return value, np.concatenate([1 / c + grad_w, 1 / c - grad_w]) / n

    result = minimize(objective, np.zeros(2 * k), jac=True, method="L-BFGS-B", bounds=[(0, None)] * (2 * k),
                      options={"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-12, "maxls": 50})
    return np.asarray(result.x[:k] - result.x[k:])


def _log_loss(x: np.ndarray, p: np.ndarray, w: np.ndarray) -> float:
    q = np.clip(_sigmoid(x @ w), _EPS, 1 - _EPS)
    return float(-np.mean(p * np.log(q) + (1 - p) * np.log(1 - q)))


def choose_c(x: np.ndarray, p: np.ndarray, folds: np.ndarray, cs: np.ndarray = CS) -> float:
    """The C with the lowest mean validation log loss over the folds (first one on ties)."""
    losses = np.zeros(len(cs))
    fold_ids = np.unique(folds)
    for fold in fold_ids:
        train, test = folds != fold, folds == fold
        for j, c in enumerate(cs):
            losses[j] += _log_loss(x[test], p[test], fit_l1(x[train], p[train], c))
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
