"""`evalkit gate`: fail CI when a candidate run regressed against a baseline run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def gate_command(
    baseline: Annotated[Path, typer.Option(help="Run directory of the accepted model.")],
    candidate: Annotated[Path, typer.Option(help="Run directory of the model under test.")],
    max_drop: Annotated[float | None, typer.Option(help="Margin: the largest tolerated drop, absolute, per metric (default 0, or gate.yaml's).")] = None,
    alpha: Annotated[float | None, typer.Option(help="One-sided significance level for the whole gate (default 0.05, or gate.yaml's).")] = None,
    config: Annotated[Path | None, typer.Option(help="gate.yaml with per-benchmark margins, metrics and floors.")] = None,
    junit: Annotated[Path | None, typer.Option(help="Write a JUnit XML report here.")] = None,
    summary: Annotated[Path | None, typer.Option(help="Append a Markdown summary here (e.g. $GITHUB_STEP_SUMMARY).")] = None,
    allow_incomparable: Annotated[bool, typer.Option("--allow-incomparable", help="Compare on shared samples even when prompts, seeds, versions or sample sets differ.")] = False,
    correction: Annotated[str, typer.Option(help="Multiple-testing correction across metrics: holm or none.")] = "holm",
    resamples: Annotated[int, typer.Option(help="Sign-flip resamples for continuous scores.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Seed of the permutation test.")] = 0,
) -> None:
    """Compare two runs sample by sample. Exit 0 pass, 1 regression or not comparable, 2 bad input."""
    from rich.console import Console
    from rich.table import Table

    from evalkit.errors import ConfigError
    from evalkit.gate import GateOptions, load_gate_config, run_gate
    from evalkit.gate.output import HEADERS, append_summary, notes, rows, verdict_line, write_junit

    if resamples < 100:
        raise ConfigError(f"--resamples must be at least 100, got {resamples}")
    settings = load_gate_config(config, max_drop=max_drop, alpha=alpha)
    report = run_gate(baseline, candidate, settings, GateOptions(allow_incomparable, correction, resamples, seed))
    table = Table(title=f"Gate — {baseline} → {candidate}")
    for header in HEADERS:
        table.add_column(header)
    for row in rows(report):
        table.add_row(*row)
    console = Console(width=200)
    console.print(table)
    for line in notes(report) + [f"{name}: missing from the candidate run" for name in report.missing]:
        console.print(line, markup=False)
    if junit is not None:
        write_junit(report, junit)
    if summary is not None:
        append_summary(report, summary)
    typer.echo(verdict_line(report))
    raise typer.Exit(report.exit_code)
