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


def format_cost(spend: dict[str, Any] | None) -> str:
    """A benchmark's paid cost: dollars when priced, else its tokens."""
    if not spend:
        return "—"
    if spend.get("cost_usd") is not None:
        return f"${spend['cost_usd']:.4f}"
    return f"{spend.get('prompt_tokens', 0) + spend.get('completion_tokens', 0):,} tok"


def print_results(results: dict[str, Any], title: str = "Results", cost: dict[str, Any] | None = None) -> None:
    """The results table; with ``cost`` (manifest.json's section) each benchmark's first row shows what its
    calls cost this run (cached answers are free) and the caption the run's total, judges included."""
    from rich.console import Console
    from rich.table import Table

    spends = (cost or {}).get("benchmarks", {})
    table = Table(title=title)
    columns = ["benchmark", "metric", "value [95% CI]", "n", "errors"] + (["cost"] if spends else [])
    for column in columns:
        table.add_column(column, justify="right" if column in ("n", "errors", "cost") else "left", no_wrap=True)
    for name, entry in results.get("benchmarks", {}).items():
        for index, (metric_name, metric) in enumerate(entry.get("metrics", {}).items()):
            row = [name, metric_name, format_metric(metric), str(metric.get("n", entry.get("n"))),
                   str(entry.get("n_errors", 0))]
            table.add_row(*row, *([format_cost(spends.get(name)) if index == 0 else ""] if spends else []))
    if cost and cost.get("billed"):
        total = cost.get("total_usd")
        judges = sum((j.get("cost_usd") or 0.0) for j in cost.get("judges", {}).values())
        table.caption = (f"total cost ${total:.4f}" + (f" (judges ${judges:.4f})" if cost.get("judges") else "")
                         if total is not None else "cost: tokens only (no price for a model; see docs/cost.md)")
    console = Console()
    if not console.is_terminal:  # piped or captured: no terminal width to respect, so do not wrap rows
        console = Console(width=160)
    console.print(table)


def interrupted_line() -> str:
    """What Ctrl-C prints: what was saved, and the command that resumes."""
    import shlex
    import sys

    command = " ".join(shlex.quote(a) for a in ["evalkit", *sys.argv[1:]])
    return f"interrupted: every completed response is saved in the run's journal; resume with: {command}"
