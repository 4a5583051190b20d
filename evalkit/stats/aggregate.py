"""Turn scored samples into results.json metrics: overall, per group and per rollup, errors counted apart.

Rollups (``options.rollups`` in a spec) combine groups (``options.group_by``) into named totals, e.g.
MMLU's STEM / humanities / social sciences / other, or BBH's average over its 27 tasks::

    rollups:
      stem: {groups: [abstract_algebra, anatomy, ...]}     # weight: size (default)
      subject_average: {weight: equal}                     # no groups: every group

``weight: size`` pools the samples of the groups (the mean over items, as lm-evaluation-harness's
``weight_by_size``) and keeps the usual interval. ``weight: equal`` is the unweighted mean of the group
means (a macro average); its standard error is sqrt(sum of squared group standard errors) / number of
groups and its interval mean ± 1.96·SE.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from evalkit.errors import ConfigError
from evalkit.stats.uncertainty import Z95, summarize_mean
from evalkit.types import MetricInfo, Scored


def metric_table(scored: list[Scored], metrics: list[MetricInfo]) -> dict[str, dict[str, Any]]:
    """Mean ± CI of each metric over samples that were not errored and have a value for it."""
    table = {}
    for info in metrics:
        values = [s.scores[info.name] for s in scored if s.error is None and s.scores.get(info.name) is not None]
        summary = summarize_mean(values)  # type: ignore[arg-type]
        summary["higher_is_better"] = info.higher_is_better
        table[info.name] = summary
    return table


def _equal_weight(tables: list[dict[str, dict[str, Any]]], metrics: list[MetricInfo]) -> dict[str, dict[str, Any]]:
    """Unweighted mean of per-group metric values (groups without a value are left out)."""
    combined: dict[str, dict[str, Any]] = {}
    for info in metrics:
        cells = [t[info.name] for t in tables if t[info.name]["value"] is not None]
        if not cells:
            combined[info.name] = {"value": None, "stderr": None, "ci95": [None, None], "n": 0,
                                   "higher_is_better": info.higher_is_better}
            continue
        value = sum(c["value"] for c in cells) / len(cells)
        stderr = math.sqrt(sum(c["stderr"] ** 2 for c in cells)) / len(cells)
        combined[info.name] = {"value": value, "stderr": stderr, "ci95": [value - Z95 * stderr, value + Z95 * stderr],
                               "n": sum(c["n"] for c in cells), "n_groups": len(cells),
                               "higher_is_better": info.higher_is_better}
    return combined


def rollup_table(groups: dict[str, list[Scored]], metrics: list[MetricInfo],
                 rollups: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each named rollup over the groups it lists (all groups when it lists none)."""
    if not isinstance(rollups, dict):
        raise ConfigError("options.rollups must map a rollup name to {groups: [...], weight: size|equal}")
    table = {}
    for name, config in rollups.items():
        config = config or {}
        weight = config.get("weight", "size")
        if weight not in ("size", "equal") or not set(config) <= {"groups", "weight"}:
            raise ConfigError(f"options.rollups.{name}: expected {{groups: [...], weight: size|equal}}, got {config}")
        members = [g for g in (config.get("groups") or sorted(groups)) if g in groups]  # --limit may drop some
        if weight == "size":
            items = [s for g in members for s in groups[g]]
            metric_values = metric_table(items, metrics)
        else:
            metric_values = _equal_weight([metric_table(groups[g], metrics) for g in members], metrics)
        table[name] = {"weight": weight, "n_groups": len(members), "n": sum(len(groups[g]) for g in members),
                       "metrics": metric_values}
    return table


def aggregate(scored: list[Scored], metrics: list[MetricInfo], group_by: str | None = None,
              rollups: dict[str, Any] | None = None) -> dict[str, Any]:
    """The results.json entry of one benchmark."""
    entry: dict[str, Any] = {
        "n": len(scored),
        "n_errors": sum(1 for s in scored if s.error is not None),
        "metrics": metric_table(scored, metrics),
    }
    if group_by:
        groups: dict[str, list[Scored]] = defaultdict(list)
        for s in scored:
            groups[str(s.sample.metadata.get(group_by))].append(s)
        entry["groups"] = {
            name: {"n": len(items), "n_errors": sum(1 for s in items if s.error), "metrics": metric_table(items, metrics)}
            for name, items in sorted(groups.items())
        }
        if rollups:
            entry["rollups"] = rollup_table(groups, metrics, rollups)
    elif rollups:
        raise ConfigError("options.rollups needs options.group_by (the metadata field that names each group)")
    return entry
