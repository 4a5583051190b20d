"""Means with honest uncertainty: standard error and a 95% interval for every metric.

Binary metrics get a Wilson score interval (it stays inside [0, 1] and behaves near 0 and 1);
other means get mean ± t·SE (clipped to [0, 1] when every score lies there); statistics that are not plain means get a percentile bootstrap.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

Z95 = 1.959963984540054


def _t95(df: int) -> float:
    if df <= 0:
        return float("nan")
    if df > 1000:
        return Z95
    from scipy.special import stdtrit  # what scipy.stats.t.ppf computes, without importing scipy.stats (~2 s)

    return float(stdtrit(df, 0.975))


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return (float("nan"), float("nan"))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def summarize_mean(values: Sequence[float]) -> dict[str, object]:
    """{"value", "stderr", "ci95": [lo, hi], "n"} for the mean of ``values``."""
    # plain Python on purpose: an API run then never imports numpy (start-up time)
    arr = [float(v) for v in values]
    n = len(arr)
    if n == 0:
        return {"value": None, "stderr": None, "ci95": [None, None], "n": 0}
    mean = math.fsum(arr) / n
    stderr = math.sqrt(math.fsum((v - mean) ** 2 for v in arr) / (n - 1) / n) if n > 1 else 0.0
    if all(v in (0.0, 1.0) for v in arr):
        lo, hi = wilson_interval(math.fsum(arr), n)
    elif n > 1:
        half = _t95(n - 1) * stderr
        lo, hi = mean - half, mean + half
        if min(arr) >= 0.0 and max(arr) <= 1.0:  # a mean of [0, 1] scores cannot leave [0, 1]
            lo, hi = max(0.0, lo), min(1.0, hi)
    else:
        lo = hi = mean
    return {"value": mean, "stderr": stderr, "ci95": [lo, hi], "n": n}


def bootstrap_statistic(
    data: Sequence[object], statistic: Callable[[list[object]], float], n_resamples: int = 1000, seed: int = 0
) -> dict[str, object]:
    """Percentile bootstrap over items for a statistic that is not a plain mean (e.g. corpus BLEU)."""
    import numpy as np

    items = list(data)
    n = len(items)
    if n == 0:
        return {"value": None, "stderr": None, "ci95": [None, None], "n": 0}
    value = float(statistic(items))
    rng = np.random.default_rng(seed)
    stats = np.empty(n_resamples)
    for i in range(n_resamples):
        idx = rng.integers(0, n, n)
        stats[i] = statistic([items[j] for j in idx])
    lo, hi = np.percentile(stats, [2.5, 97.5])
    return {"value": value, "stderr": float(stats.std(ddof=1)), "ci95": [float(lo), float(hi)], "n": n}


def bootstrap_sums(
    stats: Sequence[Sequence[float]], score: Callable[[np.ndarray], float], n_resamples: int = 1000,
    seed: int | None = 12345,
) -> dict[str, object]:
    """Bootstrap a corpus statistic that is a function of per-item sufficient statistics summed over items.

    Resamples items exactly as sacrebleu's ``_bootstrap_resample`` does (``default_rng(seed).choice`` of
    all index rows at once, float32 sums), so BLEU/chrF/TER intervals match sacrebleu's for the same seed.
    The interval takes the nearest-rank 2.5%/97.5% order statistics, as sacrebleu does.
    """
    import numpy as np

    table = np.asarray(stats, dtype="float32")
    n = int(table.shape[0]) if table.ndim else 0
    if n == 0 or n_resamples < 2:
        return {"stderr": None, "ci95": [None, None], "bootstrap_mean": None, "n_bootstrap": 0}
    rng = np.random.default_rng(seed)
    rows = rng.choice(n, size=(n_resamples, n), replace=True)
    scores = np.sort(np.array([float(score(table[row].sum(0))) for row in rows]))
    lower = n_resamples // 40
    return {"stderr": float(scores.std(ddof=1)), "ci95": [float(scores[lower]), float(scores[n_resamples - lower - 1])],
            "bootstrap_mean": statistics.mean(scores.tolist()), "n_bootstrap": n_resamples}


def summarize_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> dict[str, object]:
    """{"value", "stderr", "ci95", "n"} for a ratio of sums over clusters, Σy / Σn (e.g. instructions followed
    over instructions given, pooled over prompts).

    Items within a cluster are not independent, so the standard error is the cluster (linearisation)
    estimate sqrt(m / (m - 1) · Σ (y_i - R·n_i)²) / Σ n_i over the m clusters; the interval is R ± 1.96·SE,
    clipped to [0, 1] when every y_i lies in [0, n_i]. ``n`` counts the clusters.
    """
    ys = [float(v) for v in numerators]
    ns = [float(v) for v in denominators]
    m, total = len(ys), math.fsum(ns)
    if m == 0 or total == 0:
        return {"value": None, "stderr": None, "ci95": [None, None], "n": m}
    ratio = math.fsum(ys) / total
    if m > 1:
        stderr = math.sqrt(m / (m - 1) * math.fsum((y - ratio * n) ** 2 for y, n in zip(ys, ns))) / total
    else:
        stderr = 0.0
    lo, hi = ratio - Z95 * stderr, ratio + Z95 * stderr
    if all(0.0 <= y <= n for y, n in zip(ys, ns)):
        lo, hi = max(0.0, lo), min(1.0, hi)
    return {"value": ratio, "stderr": stderr, "ci95": [lo, hi], "n": m}
