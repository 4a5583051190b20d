"""Style control as Arena-Hard-Auto does it: a Bradley–Terry fit with length and markdown covariates.

Per response, after removing fenced code blocks: the number of markdown headers (``#``…``######``
at a line start), bold spans (``**x**``, ``__x__``) and list items (``1.``, ``-``, ``*``, ``+`` at a
line start). Per comparison of i against j (Arena-Hard's normalised differences)::

    length    (L_i − L_j) / (L_i + L_j)                        L = characters
    markdown  (d_i − d_j) / (d_i + d_j + 1)  for d = count / L  (headers, bold, lists)

each covariate divided by its standard deviation over the comparisons. The model is

    logit P(i beats j) = θ_i − θ_j + Σ_k γ_k f_k(i, j)

fitted by maximum likelihood on soft outcomes (a tie is half a win), θ of the reference model
fixed at 0, with a weak ridge (``RIDGE``) that keeps the fit finite when a covariate separates the
outcomes — on hundreds of comparisons it moves nothing visibly. The style-controlled win rate of i against j is σ(θ_i − θ_j): the prediction at equal
style. Two deliberate differences from Arena-Hard: length is in characters (evalkit's unit; it uses
tokens), and the covariates are scaled but not centred — centring would move the prediction to the
average style difference, which with one candidate against one baseline is the candidate's own
style advantage, and would control nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

FEATURES = ("length", "headers", "bold", "lists")
_CODE = re.compile(r"```.*?```", re.DOTALL)
_HEADER = re.compile(r"^#{1,6}\s", re.MULTILINE)
_BOLD = (re.compile(r"\*\*[^*\n]+\*\*"), re.compile(r"__[^_\n]+__"))
_LIST = (re.compile(r"^[ \t]*\d+\.\s", re.MULTILINE), re.compile(r"^[ \t]*[-*+]\s", re.MULTILINE))
RIDGE = 0.01  # a weak Gaussian prior (sd 10 on the log-odds scale): finite fits under separation


def markdown_counts(text: str) -> dict[str, int]:
    """Headers, bold spans and list items in ``text``, fenced code removed first."""
    prose = _CODE.sub("", text)
    return {"headers": len(_HEADER.findall(prose)),
            "bold": sum(len(p.findall(prose)) for p in _BOLD),
            "lists": sum(len(p.findall(prose)) for p in _LIST)}


@dataclass(frozen=True)
class Style:
    """What style control needs of one response: its length and markdown counts."""

    length: int
    headers: int
    bold: int
    lists: int

    @classmethod
    def of(cls, length: int | None, counts: dict[str, int] | None) -> Style | None:
        if length is None or counts is None:
            return None
        return cls(int(length), int(counts["headers"]), int(counts["bold"]), int(counts["lists"]))


def differences(a: Style, b: Style) -> np.ndarray:
    """Arena-Hard's normalised style differences of a against b, in ``FEATURES`` order (unscaled)."""
    total = a.length + b.length
    out = [(a.length - b.length) / total if total else 0.0]
    for name in FEATURES[1:]:
        da = getattr(a, name) / a.length if a.length else 0.0
        db = getattr(b, name) / b.length if b.length else 0.0
        out.append((da - db) / (da + db + 1))
    return np.array(out)


def scale(features: np.ndarray) -> np.ndarray:
    """Each column divided by its standard deviation (a constant column becomes 0: no information)."""
    sd = features.std(axis=0, ddof=1) if len(features) > 1 else np.zeros(features.shape[1])
    safe = np.where(sd > 0, sd, 1.0)
    return np.where(sd > 0, features / safe, 0.0)


def _penalised_loglik(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    margin = x @ w
    return float(-(y * np.logaddexp(0.0, -margin) + (1 - y) * np.logaddexp(0.0, margin)).sum()
                 - 0.5 * RIDGE * (w @ w))


def fit_logistic(x: np.ndarray, y: np.ndarray, tol: float = 1e-10, max_iter: int = 100) -> np.ndarray:
    """argmax Σ [y log σ(xw) + (1 − y) log σ(−xw)] − ½·RIDGE·‖w‖² (soft labels y): Newton's method
    with step halving, so it climbs even where the plain likelihood has no maximum (separation)."""
    w = np.zeros(x.shape[1])
    current = _penalised_loglik(x, y, w)
    for _ in range(max_iter):
        q = np.exp(-np.logaddexp(0.0, -(x @ w)))
        grad = x.T @ (y - q) - RIDGE * w
        hess = (x * (q * (1 - q))[:, None]).T @ x + RIDGE * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-8:
            value = _penalised_loglik(x, y, w + scale * step)
            if value >= current - 1e-12:
                break
            scale /= 2
        w, current = w + scale * step, value
        if np.max(np.abs(scale * step)) < tol:
            break
    return w


def style_controlled(outcomes: Sequence[float], pairs: Sequence[tuple[Style, Style]]) -> tuple[float, np.ndarray]:
    """(θ, γ) for one candidate against one opponent: logit P(candidate wins) = θ + γ·f (scaled f)."""
    f = scale(np.array([differences(a, b) for a, b in pairs]))
    x = np.column_stack([np.ones(len(f)), f])
    w = fit_logistic(x, np.asarray(outcomes, float))
    return float(w[0]), w[1:]


def style_ratings(battles: Sequence[tuple[int, int, float, Style, Style]], n_models: int) -> tuple[np.ndarray, np.ndarray]:
    """Strengths θ (model 0 fixed at 0) and γ from battles (i, j, score of i, style of i, style of j)."""
    f = scale(np.array([differences(si, sj) for _, _, _, si, sj in battles]))
    models = np.zeros((len(battles), n_models))
    for row, (i, j, _, _, _) in enumerate(battles):
        models[row, i] += 1.0
        models[row, j] -= 1.0
    x = np.column_stack([models[:, 1:], f])
    w = fit_logistic(x, np.array([s for _, _, s, _, _ in battles], float))
    return np.concatenate([[0.0], w[: n_models - 1]]), w[n_models - 1:]
