"""summarize_ratio: a ratio of sums over clusters (IFEval's pooled instruction-level accuracy)."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.stats.uncertainty import summarize_mean, summarize_ratio


def test_equal_cluster_sizes_reduce_to_the_mean_of_cluster_shares() -> None:
    """With k items per cluster, Σy/Σn is the mean of y_i/k and the cluster SE is that mean's usual SE."""
    rng = np.random.default_rng(0)
    followed = rng.integers(0, 4, size=200).astype(float)
    ratio = summarize_ratio(followed, [3.0] * 200)
    mean = summarize_mean(followed / 3.0)
    assert ratio["value"] == pytest.approx(mean["value"], abs=1e-12)
    assert ratio["stderr"] == pytest.approx(mean["stderr"], rel=1e-12)


def test_unequal_clusters_match_a_cluster_bootstrap() -> None:
    """The linearised SE agrees with resampling whole clusters (prompts), to bootstrap noise."""
    rng = np.random.default_rng(1)
    sizes = rng.choice([1, 2, 3], size=541, p=[0.56, 0.33, 0.11]).astype(float)
    followed = rng.binomial(sizes.astype(int), 0.8).astype(float)
    ratio = summarize_ratio(followed, sizes)
    assert ratio["value"] == pytest.approx(followed.sum() / sizes.sum(), abs=1e-12)
    draws = rng.integers(0, 541, size=(4000, 541))
    boot = followed[draws].sum(axis=1) / sizes[draws].sum(axis=1)
    assert ratio["stderr"] == pytest.approx(boot.std(ddof=1), rel=0.08)
    lo, hi = ratio["ci95"]
    assert lo < ratio["value"] < hi <= 1.0


def test_empty_and_degenerate_inputs() -> None:
    assert summarize_ratio([], [])["value"] is None
    one = summarize_ratio([2.0], [3.0])
    assert one["value"] == pytest.approx(2 / 3) and one["stderr"] == 0.0
    perfect = summarize_ratio([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert perfect["value"] == 1.0 and perfect["ci95"] == [1.0, 1.0]
