"""The gate's error rates on simulated pairs of runs with a known true drop.

Binary items: baseline accuracy 0.70 on 1,000 items, and 20% of items discordant (one run right, the
other wrong) — about what two checkpoints of one model show. A true drop δ means P(baseline-only right)
= (0.20 + δ)/2 and P(candidate-only right) = (0.20 − δ)/2. Each simulated pair goes through the gate's
own decision path (compare_scores → decide), and the simulated rates are checked against exact rates
computed by enumerating every outcome of the exact McNemar test.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from evalkit.gate.check import REGRESSION, GateOptions, MetricCheck, compare_scores, decide

N, BASE_ACC, DISCORDANT, ALPHA = 1000, 0.70, 0.20, 0.05


def simulate_binary(rng: np.random.Generator, drop: float, n: int = N, acc: float = BASE_ACC,
                    discordant: float = DISCORDANT) -> tuple[np.ndarray, np.ndarray]:
    worse, better = (discordant + drop) / 2, (discordant - drop) / 2
    both = acc - worse
    cell = rng.choice(4, size=n, p=[both, worse, better, 1 - both - worse - better])
    base = np.isin(cell, (0, 1)).astype(float)
    cand = np.isin(cell, (0, 2)).astype(float)
    return base, cand


def gate_flags(base: np.ndarray, cand: np.ndarray, margin: float = 0.0, resamples: int = 10_000) -> bool:
    check = MetricCheck("sim", "acc", True, margin, None)
    compare_scores(check, base, cand, GateOptions(n_resamples=resamples))
    decide([check], ALPHA)
    return check.status == REGRESSION


def exact_flag_rate(drop: float, margin: float = 0.0) -> float:
    """P(the gate flags) by summing over every (discordant, worse) outcome; margin 0 (exact McNemar)."""
    assert margin == 0.0
    total = 0.0
    worse_p = (DISCORDANT + drop) / 2 / DISCORDANT
    for d in range(1, N + 1):
        weight = stats.binom.pmf(d, N, DISCORDANT)
        if weight < 1e-14:
            continue
        worse = np.arange(d + 1)
        flagged = (stats.binom.sf(worse - 1, d, 0.5) < ALPHA) & (2 * worse - d > 0)
        total += weight * stats.binom.pmf(worse[flagged], d, worse_p).sum()
    return float(total)


def _rate(flags: list[bool]) -> tuple[float, float]:
    rate = float(np.mean(flags))
    return rate, float(np.sqrt(max(rate * (1 - rate), 1e-4) / len(flags)))


def test_false_alarm_rate_at_no_drop_stays_below_alpha():
    rng = np.random.default_rng(2026)
    flags = [gate_flags(*simulate_binary(rng, 0.0)) for _ in range(4000)]
    rate, se = _rate(flags)
    exact = exact_flag_rate(0.0)
    assert exact <= ALPHA  # exact McNemar is conservative: 0.0432 here
    assert rate <= ALPHA
    assert abs(rate - exact) < 4 * se  # the simulation and the enumeration agree


def test_catches_a_five_point_drop_at_least_95_percent_of_the_time():
    rng = np.random.default_rng(7)
    flags = [gate_flags(*simulate_binary(rng, 0.05)) for _ in range(2000)]
    rate, se = _rate(flags)
    exact = exact_flag_rate(0.05)
    assert exact >= 0.95  # 0.968 at 20% discordance
    assert rate >= 0.95
    assert abs(rate - exact) < 4 * se


def test_margin_boundary_keeps_alpha_and_still_catches_drops_beyond_it():
    rng = np.random.default_rng(11)
    at_margin = [gate_flags(*simulate_binary(rng, 0.02), margin=0.02) for _ in range(3000)]
    rate, se = _rate(at_margin)
    assert rate <= ALPHA + 2 * se  # Tango score test with continuity correction: ~0.047 exactly
    beyond = [gate_flags(*simulate_binary(rng, 0.07), margin=0.02) for _ in range(1000)]
    assert np.mean(beyond) >= 0.95
    below = [gate_flags(*simulate_binary(rng, 0.0), margin=0.02) for _ in range(1000)]
    assert np.mean(below) <= 0.005  # a drop inside the margin is almost never flagged


def test_continuous_scores_false_alarm_and_power():
    rng = np.random.default_rng(3)

    def pair(drop: float) -> tuple[np.ndarray, np.ndarray]:
        quality = rng.beta(4, 3, size=300)  # item difficulty shared by both runs
        base = np.clip(quality + rng.normal(0, 0.08, 300), 0, 1)
        cand = np.clip(quality - drop + rng.normal(0, 0.08, 300), 0, 1)
        return base, cand

    null = [gate_flags(*pair(0.0), resamples=1000) for _ in range(800)]
    rate, se = _rate(null)
    assert rate <= ALPHA + 2 * se
    power = [gate_flags(*pair(0.03), resamples=1000) for _ in range(200)]
    assert np.mean(power) >= 0.95


@pytest.mark.parametrize("correction", ["holm", "none"])
def test_holm_keeps_the_whole_gate_at_alpha_over_many_benchmarks(correction):
    """Six benchmarks at no drop: any one flag fails the gate; uncorrected, that happens far too often."""
    rng = np.random.default_rng(5)
    failed = []
    for _ in range(1000):
        checks = []
        for b in range(6):
            check = MetricCheck(f"b{b}", "acc", True, 0.0, None)
            compare_scores(check, *simulate_binary(rng, 0.0), GateOptions())
            checks.append(check)
        decide(checks, ALPHA, correction)
        failed.append(any(c.status == REGRESSION for c in checks))
    rate, se = _rate(failed)
    if correction == "holm":
        assert rate <= ALPHA
    else:
        assert rate > 3 * ALPHA  # ~1 − 0.957^6 ≈ 0.23: why the gate corrects by default
