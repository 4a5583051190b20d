"""The unbiased pass@k estimator (Chen et al., 2021): with n samples of which c pass,

    pass@k = 1 − C(n−c, k) / C(n, k)

computed as 1 − ∏_{i=n−c+1}^{n} (1 − k/i), which never forms the huge binomials.
"""

from __future__ import annotations

import math

STANDARD_KS = (1, 10, 100)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn without replacement from n (c correct) passes."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 ≤ c ≤ n and 1 ≤ k ≤ n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0  # every draw of k contains a correct sample
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def ks_for(n: int, ks: tuple[int, ...] = STANDARD_KS) -> list[int]:
    """The k values reported for n samples per task: those of ``ks`` not above n."""
    return [k for k in ks if k <= n]
