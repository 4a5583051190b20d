"""Turn scored samples into results.json metrics: overall and per group, errors counted apart."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from evalkit.kinds.base import MetricInfo, Scored
from evalkit.stats.uncertainty import summarize_mean


def metric_table(scored: list[Scored], metrics: list[MetricInfo]) -> dict[str, dict[str, Any]]:
    """Mean ± CI of each metric over samples that were not errored and have a value for it."""
    table = {}
    for info in metrics:
        values = [s.scores[info.name] for s in scored if s.error is None and s.scores.get(info.name) is not None]
        summary = summarize_mean(values)  # type: ignore[arg-type]
        summary["higher_is_better"] = info.higher_is_better
        table[info.name] = summary
    return table


def aggregate(scored: list[Scored], metrics: list[MetricInfo], group_by: str | None = None) -> dict[str, Any]:
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
    return entry
