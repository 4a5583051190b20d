"""`evalkit report`: one self-contained HTML page comparing run directories."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def report_command(
    runs: Annotated[list[Path], typer.Argument(help="Run directories written by `evalkit run` (one or more).")],
    out: Annotated[Path, typer.Option(help="The HTML file to write.")] = Path("reports/index.html"),
    title: Annotated[str, typer.Option(help="Page title.")] = "evalkit leaderboard",
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for the Bradley–Terry intervals.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
) -> None:
    """Leaderboard, charts, judge bias, Bradley–Terry ranking and a sample browser in one HTML file."""
    from evalkit.errors import ConfigError
    from evalkit.report import build_report

    if bootstrap < 0:
        raise ConfigError(f"--bootstrap must be ≥ 0, got {bootstrap}")
    stats = build_report(runs, out, title=title, n_bootstrap=bootstrap, seed=seed)
    typer.echo(f"wrote {out} ({stats['bytes'] / 1e6:.1f} MB): {stats['runs']} runs, {stats['benchmarks']} benchmarks, "
               f"{stats['samples']} samples")
