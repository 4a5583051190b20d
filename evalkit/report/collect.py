"""Read run directories into what the report shows: leaderboard cells, category averages, judge bias.

One leaderboard row per run (labelled by its model; the run directory's name is added when two runs
share a model). Each benchmark is shown by its primary metric: the first higher-is-better metric in
results.json. Category averages are plain means of primary metrics over the category's benchmarks,
shown only when the run has all of them, with the interval of a mean of independent estimates.
"""

from __future__ import annotations

import json
import math
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import DataError
from evalkit.stats.uncertainty import Z95
from evalkit.store.rundir import RunDir


@dataclass
class RunView:
    path: Path
    label: str
    model: str
    results: dict[str, Any]
    judgments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Column:
    name: str
    category: str
    metric: str
    higher_is_better: bool
    percent: bool


def _judgments(path: Path) -> list[dict[str, Any]]:
    file = path / "judgments.jsonl"
    if not file.exists():
        return []
    rows = []
    with open(file, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{file}:{number}: invalid JSON: {exc.msg}") from None
                if not isinstance(row, dict):
                    raise DataError(f"{file}:{number}: a judgment row must be a JSON object")
                rows.append(row)
    return rows


def _note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr)


def load_views(paths: list[Path], note: Callable[[str], None] = _note) -> list[RunView]:
    """The finished runs among ``paths`` (``runs/*`` may hold failed or running ones: each is skipped with
    one ``note``); DataError when none is left, or a finished run's files are malformed."""
    if not paths:
        raise DataError("give at least one run directory")
    views = []
    skipped = []
    for path in paths:
        rundir = RunDir(path)
        problem = rundir.finished_problem()
        if problem is not None:
            note(f"skipped {path}: {problem}")
            skipped.append(path)
            continue
        manifest, results = rundir.manifest(), rundir.results()
        if not isinstance(results, dict) or not isinstance(results.get("benchmarks"), dict):
            raise DataError(f"{rundir.results_path}: expected {{\"benchmarks\": {{...}}}}")
        model = str((manifest.get("model") or {}).get("name") or path.name)
        views.append(RunView(path, model, model, results, _judgments(path)))
    if not views:
        raise DataError(f"no finished run among {', '.join(map(str, skipped))}; pass run directories written by "
                        "`evalkit run`")
    counts = Counter(v.model for v in views)
    for view in views:
        if counts[view.model] > 1:
            view.label = f"{view.model} ({view.path.name})"
    labels = Counter(v.label for v in views)
    for i, view in enumerate(views):
        if labels[view.label] > 1:
            view.label = f"{view.label} #{i + 1}"
    return views


def _primary(metrics: dict[str, Any]) -> str | None:
    for name, info in metrics.items():
        if info.get("higher_is_better", True):
            return name
    return next(iter(metrics), None)


def columns(views: list[RunView]) -> list[Column]:
    """Benchmarks in category order, each with the metric the leaderboard shows."""
    found: dict[str, Column] = {}
    for view in views:
        for name, entry in view.results["benchmarks"].items():
            metrics = entry.get("metrics") or {}
            metric = _primary(metrics)
            if name in found or metric is None:
                continue
            found[name] = Column(name, str(entry.get("category") or "other"), metric,
                                 bool(metrics[metric].get("higher_is_better", True)), True)
    for col in found.values():
        for view in views:
            info = _metric(view, col)
            bounds = [info.get("value"), *(info.get("ci95") or [])] if info else []
            if any(b is not None and not 0.0 <= b <= 1.0 for b in bounds):
                col.percent = False
    return sorted(found.values(), key=lambda c: (c.category, c.name))


def _metric(view: RunView, col: Column) -> dict[str, Any] | None:
    entry = view.results["benchmarks"].get(col.name)
    if not entry:
        return None
    info = (entry.get("metrics") or {}).get(col.metric)
    return info if isinstance(info, dict) and info.get("value") is not None else None


def fmt(value: float | None, percent: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value * 100:.1f}" if percent else f"{value:.3f}"


def cell(value: float | None, lo: float | None, hi: float | None, percent: bool, n: int | None = None) -> dict[str, Any]:
    ci = f"[{fmt(lo, percent)}, {fmt(hi, percent)}]" if lo is not None and hi is not None else ""
    return {"value": value, "lo": lo, "hi": hi, "text": fmt(value, percent), "ci": ci, "n": n}


def _average(cells: list[dict[str, Any]], stderrs: list[float]) -> dict[str, Any]:
    mean = sum(c["value"] for c in cells) / len(cells)
    half = Z95 * math.sqrt(sum(s * s for s in stderrs)) / len(cells)
    return cell(mean, mean - half, mean + half, True)


def leaderboard(views: list[RunView], cols: list[Column]) -> dict[str, Any]:
    """Rows of cells (one per benchmark, then one per category average, then the overall average)."""
    averaged = [c for c in cols if c.percent and c.higher_is_better]
    categories = sorted({c.category for c in averaged})
    rows = []
    for view in views:
        cells, by_name, stderrs = [], {}, {}
        for col in cols:
            info = _metric(view, col)
            if info is None:
                cells.append(cell(None, None, None, col.percent))
                continue
            lo, hi = (info.get("ci95") or [None, None])[:2]
            by_name[col.name] = cell(float(info["value"]), lo, hi, col.percent, info.get("n"))
            stderrs[col.name] = float(info.get("stderr") or 0.0)
            cells.append(by_name[col.name])
        averages = []
        for category in categories + ["all"]:
            members = [c.name for c in averaged if category in ("all", c.category)]
            if members and all(m in by_name for m in members):
                averages.append(_average([by_name[m] for m in members], [stderrs[m] for m in members]))
            else:
                averages.append(cell(None, None, None, True))
        rows.append({"label": view.label, "path": str(view.path), "cells": cells, "averages": averages})
    return {"columns": cols, "categories": categories, "rows": rows}


def judge_bias(views: list[RunView]) -> dict[str, Any] | None:
    """Rows (run, judge) × columns (section, statistic) of every {value, stderr, ci95} entry found."""
    rows = []
    headers: dict[tuple[str, str], None] = {}
    for view in views:
        for judge, sections in (view.results.get("judge_bias") or {}).items():
            values: dict[tuple[str, str], dict[str, Any]] = {}
            for section, stats in (sections.items() if isinstance(sections, dict) else ()):
                if isinstance(stats, int) and not isinstance(stats, bool):  # n_judgments, n_invalid
                    headers[("counts", section)] = None
                    values[("counts", section)] = {**cell(stats, None, None, False), "text": str(stats)}
                for stat, m in stats.items() if isinstance(stats, dict) else ():
                    if isinstance(m, dict) and "value" in m:
                        headers[(section, stat)] = None
                        lo, hi = (m.get("ci95") or [None, None])[:2]
                        values[(section, stat)] = cell(m.get("value"), lo, hi, False)
            rows.append({"run": view.label, "judge": str(judge), "values": values})
    if not rows:
        return None
    cols = list(headers)
    for row in rows:
        row["cells"] = [row["values"].get(c, cell(None, None, None, False)) for c in cols]
    return {"columns": [{"section": s, "stat": t} for s, t in cols], "rows": rows}
