"""Rollups over groups (evalkit.stats.aggregate): item-weighted and equal-weighted, against hand sums."""

from __future__ import annotations

import math

import pytest

from evalkit.errors import ConfigError
from evalkit.stats.aggregate import aggregate
from evalkit.stats.uncertainty import Z95, summarize_mean
from evalkit.types import MetricInfo, Sample, Scored

# three groups of different sizes and accuracies
DATA = {"a": [1, 1, 1, 0], "b": [1, 0], "c": [0, 0, 0, 1, 1, 1, 1, 1]}


def _scored() -> list[Scored]:
    items = []
    for group, values in DATA.items():
        for i, value in enumerate(values):
            sample = Sample(id=f"{group}{i}", input="", target=None, metadata={"g": group})
            items.append(Scored(sample=sample, prompt="", output="", scores={"acc": float(value)}))
    return items


def test_size_weighted_rollup_pools_the_items():
    entry = aggregate(_scored(), [MetricInfo("acc")], "g", {"ab": {"groups": ["a", "b"]}})
    pooled = summarize_mean([1, 1, 1, 0, 1, 0])
    rollup = entry["rollups"]["ab"]
    assert rollup["n"] == 6 and rollup["n_groups"] == 2 and rollup["weight"] == "size"
    assert rollup["metrics"]["acc"]["value"] == pooled["value"] == 4 / 6
    assert rollup["metrics"]["acc"]["ci95"] == pooled["ci95"]


def test_equal_weighted_rollup_is_the_mean_of_group_means():
    entry = aggregate(_scored(), [MetricInfo("acc")], "g", {"avg": {"weight": "equal"}})
    means = [3 / 4, 1 / 2, 5 / 8]
    errors = [summarize_mean(v)["stderr"] for v in DATA.values()]
    acc = entry["rollups"]["avg"]["metrics"]["acc"]
    assert acc["value"] == pytest.approx(sum(means) / 3, abs=1e-15)
    assert acc["stderr"] == pytest.approx(math.sqrt(sum(e * e for e in errors)) / 3, abs=1e-15)
    assert acc["ci95"] == pytest.approx([acc["value"] - Z95 * acc["stderr"], acc["value"] + Z95 * acc["stderr"]])
    assert entry["metrics"]["acc"]["value"] == 9 / 14  # the plain metric stays the item average


def test_groups_missing_under_limit_are_left_out():
    entry = aggregate(_scored(), [MetricInfo("acc")], "g", {"x": {"groups": ["a", "zzz"]}})
    assert entry["rollups"]["x"]["n_groups"] == 1 and entry["rollups"]["x"]["metrics"]["acc"]["value"] == 0.75


@pytest.mark.parametrize(("rollups", "group_by"), [
    ({"x": {"weight": "median"}}, "g"),
    ({"x": {"group": ["a"]}}, "g"),
    (["a"], "g"),
    ({"x": {"groups": ["a"]}}, None),
])
def test_bad_rollup_config(rollups, group_by):
    with pytest.raises(ConfigError):
        aggregate(_scored(), [MetricInfo("acc")], group_by, rollups)
