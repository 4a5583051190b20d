"""Console output shared by subcommands: result tables on stdout, one-line errors on stderr."""

from __future__ import annotations

from typing import Any


def format_metric(metric: dict[str, Any]) -> str:
    value = metric.get("value")
    if value is None:
        return "—"
    lo, hi = (metric.get("ci95") or [None, None])[:2]
    if lo is None or hi is None:
        return f"{value:.4f}"
    return f"{value:.4f} [{lo:.4f}, {hi:.4f}]"


def print_results(results: dict[str, Any], title: str = "Results") -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("benchmark", "metric", "value [95% CI]", "n", "errors"):
        table.add_column(column, justify="right" if column in ("n", "errors") else "left", no_wrap=True)
    for name, entry in results.get("benchmarks", {}).items():
        for metric_name, metric in entry.get("metrics", {}).items():
            table.add_row(name, metric_name, format_metric(metric), str(metric.get("n", entry.get("n"))),
                          str(entry.get("n_errors", 0)))
    console = Console()
    if not console.is_terminal:  # piped or captured: no terminal width to respect, so do not wrap rows
        console = Console(width=160)
    console.print(table)
