"""Read run directories into what the report shows: leaderboard cells, category averages, judge bias.

One leaderboard row per model: runs of the same model (on different benchmarks) merge into one row,
labelled by the run's ``--label`` or else its model id (a predictions file by its name, never its full
path), with the run directories in a tooltip. Each benchmark is shown by its headline metric as users
cite it (``HEADLINES``; otherwise the first metric in results.json). Category averages are plain means of
the headline metrics over the category's benchmarks, shown only when the row has all of them, with an
interval built from the benchmarks' own intervals (MOVER, Zou & Donner 2008), so an average of Wilson
intervals is as asymmetric, and as wide at 0, as they are.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import DataError
from evalkit.stats.uncertainty import Z95
from evalkit.store.rundir import RunDir


@dataclass
class RunView:
    """One leaderboard row: every finished run of one model, their benchmarks merged."""

    path: Path  # the first run directory (the others are in ``paths``)
    label: str
    model: str
    results: dict[str, Any]
    judgments: list[dict[str, Any]] = field(default_factory=list)
    cost_usd: float | None = None  # what the row's run directories paid (manifest.json "cost"), None: unpriced
    paths: list[Path] = field(default_factory=list)
    sources: dict[str, Path] = field(default_factory=dict)  # benchmark → the run directory it comes from
    notes: list[str] = field(default_factory=list)  # shown at the top of the row (e.g. all judgments invalid)


@dataclass
class Column:
    name: str  # what the header shows: the benchmark, or "benchmark · metric" when it has several headlines
    category: str
    metric: str
    higher_is_better: bool
    percent: bool
    benchmark: str = ""

    def __post_init__(self) -> None:
        self.benchmark = self.benchmark or self.name


# Headline metrics as each kind's benchmarks are cited (the first present metric otherwise).
HEADLINES: dict[str, tuple[str, ...]] = {
    "refusal": ("over_refusal", "unsafe_compliance"),  # XSTest's two sides; AdvBench/HarmBench: the second
}


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


def _cost(manifest: dict[str, Any]) -> float | None:
    """USD the run paid in all its invocations; None for runs without prices (or from before costs)."""
    cost = manifest.get("cost")
    if not isinstance(cost, dict) or cost.get("total_usd") is None:
        return None
    spent = (cost.get("budget") or {}).get("spent_usd")
    return float(spent) if isinstance(spent, (int, float)) else float(cost["total_usd"])


def _note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr)


def run_label(manifest: dict[str, Any], fallback: str) -> str:
    """``--label`` when the run had one, else the model id; a predictions file by its name only."""
    label = (manifest.get("config") or {}).get("label")
    if isinstance(label, str) and label.strip():
        return label.strip()
    model = str((manifest.get("model") or {}).get("name") or fallback)
    provider, sep, name = model.partition(":")
    if sep and provider == "predictions":
        return f"predictions:{Path(name).name}"
    return model


def load_views(paths: list[Path], note: Callable[[str], None] = _note) -> list[RunView]:
    """One view per model over the finished runs among ``paths`` (``runs/*`` may hold failed or running
    ones: each is skipped with one ``note``); DataError when none is left, or a finished run's files are
    malformed. Two runs of one model that both hold a benchmark: the later finished one is shown (noted)."""
    if not paths:
        raise DataError("give at least one run directory")
    views: dict[str, RunView] = {}
    skipped = []
    finished: dict[Path, str] = {}
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
        label = run_label(manifest, path.name)
        finished[path] = str(manifest.get("finished_at") or "")
        view = views.get(label)
        if view is None:
            model = str((manifest.get("model") or {}).get("name") or path.name)
            view = views[label] = RunView(path, label, model, {"benchmarks": {}})
        view.paths.append(path)
        paid = _cost(manifest)
        if paid is not None:
            view.cost_usd = (view.cost_usd or 0.0) + paid
        view.judgments.extend(_judgments(path))
        for name, entry in results["benchmarks"].items():
            earlier = view.sources.get(name)
            if earlier is not None:
                keep_new = finished[path] >= finished[earlier]
                note(f"{label}: {name} is in both {earlier} and {path}; showing {path if keep_new else earlier}")
                if not keep_new:
                    continue
            view.results["benchmarks"][name] = entry
            view.sources[name] = path
        for key, value in results.items():
            if key != "benchmarks" and isinstance(value, dict):
                view.results.setdefault(key, {}).update(value)
    if not views:
        raise DataError(f"no finished run among {', '.join(map(str, skipped))}; pass run directories written by "
                        "`evalkit run`")
    for view in views.values():
        judged = [j for j in view.judgments if j.get("probe") is None]
        if judged and not any(j.get("valid") is True for j in judged):
            view.notes.append(f"all {len(judged)} judgments invalid: the judge's scores are missing, not zero")
    return list(views.values())


def headlines(entry: dict[str, Any]) -> list[str]:
    """The metrics a benchmark's leaderboard column(s) show."""
    metrics = entry.get("metrics") or {}
    wanted = [m for m in HEADLINES.get(str(entry.get("kind")), ()) if m in metrics]
    return wanted or list(metrics)[:1]


def columns(views: list[RunView]) -> list[Column]:
    """Benchmarks in category order, each with the metric(s) the leaderboard shows."""
    found: dict[tuple[str, str], Column] = {}
    for view in views:
        for name, entry in view.results["benchmarks"].items():
            metrics = entry.get("metrics") or {}
            shown = headlines(entry)
            for metric in shown:
                if (name, metric) in found:
                    continue
                title = name if len(shown) == 1 else f"{name} · {metric}"
                found[(name, metric)] = Column(title, str(entry.get("category") or "other"), metric,
                                               bool(metrics[metric].get("higher_is_better", True)), True, name)
    for col in found.values():
        for view in views:
            info = _metric(view, col)
            bounds = [info.get("value"), *(info.get("ci95") or [])] if info else []
            if any(b is not None and not 0.0 <= b <= 1.0 for b in bounds):
                col.percent = False
    return sorted(found.values(), key=lambda c: (c.category, c.benchmark, c.metric))


def _metric(view: RunView, col: Column) -> dict[str, Any] | None:
    entry = view.results["benchmarks"].get(col.benchmark)
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
    return {"value": value, "lo": lo, "hi": hi, "text": fmt(value, percent), "ci": ci, "n": n, "note": ""}


def _average(cells: list[dict[str, Any]], stderrs: list[float]) -> dict[str, Any]:
    """The mean of k independent estimates, its interval recovered from theirs (MOVER): lower = mean −
    √Σ(vᵢ − loᵢ)² / k, upper = mean + √Σ(hiᵢ − vᵢ)² / k, kept inside [0, 1]. A benchmark without an interval
    contributes ±1.96·stderr."""
    k = len(cells)
    mean = sum(c["value"] for c in cells) / k
    below = above = 0.0
    for c, stderr in zip(cells, stderrs):
        lo = c["lo"] if c["lo"] is not None else c["value"] - Z95 * stderr
        hi = c["hi"] if c["hi"] is not None else c["value"] + Z95 * stderr
        below += (c["value"] - lo) ** 2
        above += (hi - c["value"]) ** 2
    return cell(mean, max(0.0, mean - math.sqrt(below) / k), min(1.0, mean + math.sqrt(above) / k), True)


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
            by_name[col.name]["note"] = _cell_note(view, col)
            stderrs[col.name] = float(info.get("stderr") or 0.0)
            cells.append(by_name[col.name])
        averages = []
        for category in categories + ["all"]:
            members = [c.name for c in averaged if category in ("all", c.category)]
            if members and all(m in by_name for m in members):
                averages.append(_average([by_name[m] for m in members], [stderrs[m] for m in members]))
            else:
                averages.append(cell(None, None, None, True))
        cost = {"value": view.cost_usd, "text": "—" if view.cost_usd is None else f"${view.cost_usd:.4f}"}
        rows.append({"label": view.label, "path": "\n".join(str(p) for p in view.paths) or str(view.path),
                     "cells": cells, "averages": averages, "notes": view.notes, "cost": cost})
    return {"columns": cols, "categories": categories, "rows": rows,
            "has_cost": any(v.cost_usd is not None for v in views)}


def _cell_note(view: RunView, col: Column) -> str:
    entry = view.results["benchmarks"].get(col.benchmark) or {}
    parts = [f"from {view.sources.get(col.benchmark, view.path)}"]
    if entry.get("n_errors"):
        parts.append(f"{entry['n_errors']} errored samples left out")
    return "; ".join(parts)


LC_NOTE = ("fitted without AlpacaEval's instruction-difficulty term (not available offline), so it is not "
           "the AlpacaEval leaderboard's length-controlled win rate")


def judge_bias(views: list[RunView]) -> dict[str, Any] | None:
    """Rows (run, judge) × columns (section, statistic) of every {value, stderr, ci95} entry found."""
    rows: list[dict[str, Any]] = []
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
    notes = [f"lc win rate: {LC_NOTE}."] if any(stat == "lc_win_rate" for _, stat in cols) else []
    return {"columns": [{"section": s, "stat": t} for s, t in cols], "rows": rows, "notes": notes}
