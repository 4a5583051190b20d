"""Agreement between raters (judges, or a judge and gold labels): percent agreement, Cohen's and Fleiss' κ.

Pure functions over label sequences. κ is NaN when chance agreement is already total (every rater
used one and the same label), as in scikit-learn; callers report that as "not defined".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Cohen's κ for two raters over the same items: (p_o − p_e) / (1 − p_e)."""
    if len(a) != len(b) or not a:
        raise ValueError("cohen_kappa needs two equally long, non-empty label sequences")
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b)) / n
    count_a, count_b = Counter(a), Counter(b)
    expected = sum(count_a[k] * count_b[k] for k in count_a) / (n * n)
    if expected == 1:
        return float("nan")
    return (observed - expected) / (1 - expected)


def fleiss_kappa(ratings: Sequence[Sequence[str]]) -> float:
    """Fleiss' κ: ``ratings[i]`` holds every rater's label for item i (the same number of raters each)."""
    if not ratings:
        raise ValueError("fleiss_kappa needs at least one item")
    m = len(ratings[0])
    if m < 2 or any(len(r) != m for r in ratings):
        raise ValueError("fleiss_kappa needs the same number (≥ 2) of ratings for every item")
    n = len(ratings)
    totals: Counter[str] = Counter()
    p_bar = 0.0
    for item in ratings:
        counts = Counter(item)
        totals.update(counts)
        p_bar += (sum(c * c for c in counts.values()) - m) / (m * (m - 1))
    p_bar /= n
    p_e = sum((t / (n * m)) ** 2 for t in totals.values())
    if p_e == 1:
        return float("nan")
    return (p_bar - p_e) / (1 - p_e)


def percent_agreement(ratings: Sequence[Sequence[str]]) -> float:
    """Share of items on which every rater gave the same label."""
    if not ratings:
        raise ValueError("percent_agreement needs at least one item")
    return sum(len(set(item)) == 1 for item in ratings) / len(ratings)
