"""evalkit.stats.paired against scipy and brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import optimize, stats

from evalkit.stats.paired import (
    drop_interval,
    holm,
    mcnemar_exact,
    paired_test,
    sign_flip,
    tango_score,
    unpaired_z,
)


@pytest.mark.parametrize(("worse", "better"), [(0, 0), (5, 0), (0, 5), (12, 7), (60, 40), (125, 75), (3, 30)])
def test_mcnemar_exact_is_the_one_sided_binomial_test(worse, better):
    expected = 1.0 if worse + better == 0 else stats.binomtest(worse, worse + better, 0.5, "greater").pvalue
    assert mcnemar_exact(worse, better) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("worse", "better"), [(12, 7), (60, 40), (125, 75)])
def test_tango_at_margin_zero_is_the_mcnemar_z_test(worse, better):
    z = (worse - better) / math.sqrt(worse + better)
    assert tango_score(worse, better, 1000, 0.0, continuity=0.0) == pytest.approx(stats.norm.sf(z), rel=1e-12)


@pytest.mark.parametrize(("worse", "better", "n", "margin"), [(125, 75, 1000, 0.02), (40, 10, 300, 0.05),
                                                             (5, 9, 200, 0.03), (0, 0, 100, 0.01)])
def test_tango_uses_the_restricted_mle_on_the_boundary(worse, better, n, margin):
    """Maximise the multinomial likelihood numerically under P(worse) = P(better) + margin."""
    def nll(q: float) -> float:
        cells = (q + margin, q, 1 - 2 * q - margin)
        counts = (worse, better, n - worse - better)
        return -sum(c * math.log(p) for c, p in zip(counts, cells) if c)

    q = optimize.minimize_scalar(nll, bounds=(1e-12, (1 - margin) / 2 - 1e-12), method="bounded",
                                 options={"xatol": 1e-12}).x
    z = (worse - better - n * margin - 0.5) / math.sqrt(n * (2 * q + margin * (1 - margin)))
    assert tango_score(worse, better, n, margin) == pytest.approx(stats.norm.sf(z), rel=1e-5, abs=1e-9)


def test_sign_flip_exact_enumeration_matches_brute_force():
    drops = np.array([0.3, -0.1, 0.25, 0.0, 0.4, -0.2, 0.15, 0.05, 0.3, -0.05])
    for margin in (0.0, 0.05):
        centred = drops - margin
        observed = centred.sum()
        hits = sum(1 for signs in itertools.product((-1, 1), repeat=drops.size)
                   if np.dot(signs, centred) >= observed - 1e-12)
        result = sign_flip(drops, margin)
        assert result.method == "sign-flip-exact"
        assert result.p_value == pytest.approx(hits / 2**drops.size, rel=1e-12)


def test_sign_flip_monte_carlo_agrees_with_scipy_permutation_test():
    rng = np.random.default_rng(5)
    drops = rng.normal(0.03, 0.3, size=400)
    ours = sign_flip(drops, 0.0, n_resamples=20_000, seed=1).p_value
    reference = stats.permutation_test((drops,), np.mean, permutation_type="samples", alternative="greater",
                                       n_resamples=20_000, random_state=2).pvalue
    assert ours == pytest.approx(reference, abs=0.01)
    assert 0.01 < ours < 0.2


def test_paired_test_picks_the_test_and_orients_the_drop():
    base = np.array([1, 1, 1, 0, 1, 0, 1, 1, 0, 1] * 10, dtype=float)
    cand = np.array([0, 1, 0, 0, 1, 0, 1, 0, 0, 1] * 10, dtype=float)
    test = paired_test(base, cand, 0.0)
    assert test.method == "mcnemar-exact" and test.discordant == (30, 0)
    assert test.p_value == pytest.approx(0.5**30)
    # the same numbers as a lower-is-better metric: the candidate improved
    assert paired_test(base, cand, 0.0, higher_is_better=False).p_value == 1.0
    assert paired_test(base, cand, 0.1).method == "tango-score"
    assert paired_test(base * 0.5 + 0.1, cand * 0.5, 0.0, n_resamples=2000).method == "sign-flip"


def test_unpaired_z_and_holm():
    assert unpaired_z(0.05, 0.02, 0.02, 0.0).p_value == pytest.approx(stats.norm.sf(0.05 / math.hypot(0.02, 0.02)))
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([]) == []


def test_drop_interval_is_the_paired_t_interval():
    rng = np.random.default_rng(9)
    drops = rng.choice([-1.0, 0.0, 1.0], p=[0.08, 0.8, 0.12], size=60)
    lo, hi = drop_interval(drops)
    expected = stats.t.interval(0.95, 59, loc=drops.mean(), scale=stats.sem(drops))
    assert (lo, hi) == pytest.approx(expected, rel=1e-12)
    assert drop_interval(np.zeros(20)) == (0.0, 0.0)  # not a Wilson interval for a "proportion"
