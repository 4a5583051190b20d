"""`evalkit retry RUN`: ask again only the samples of a finished run that errored (inspect's eval-retry).

The run's own config is read back from its manifest and run again into the same directory: every
completed response is answered from the run's journal, so only the errored requests reach the model,
and the run's files are rewritten with the new outcomes. Retry settings may be changed for the retry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def retry_command(
    run: Annotated[Path, typer.Argument(help="A run directory written by `evalkit run`.")],
    max_retries: Annotated[int | None, typer.Option(help="Retries per request this time (default: the run's).")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds per request this time (default: the run's).")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Requests in flight this time (default: the run's).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Re-ask only the errored samples of RUN; completed ones come from its journal."""
    import dataclasses

    from evalkit.cli.output import print_results
    from evalkit.config import RunConfig
    from evalkit.errors import ConfigError
    from evalkit.runner import run as run_evaluation
    from evalkit.store.rundir import RunDir

    rundir = RunDir(run)
    problem = rundir.finished_problem()
    if problem is not None:
        raise ConfigError(f"{run}: {problem}; to finish an interrupted run, run its `evalkit run` command again")
    manifest = rundir.manifest()
    errored = sum(1 for row in rundir.samples() if row.get("error"))
    if not errored:
        typer.echo(f"{run}: no errored samples; nothing to retry")
        return
    config = RunConfig.from_public(manifest.get("config") or {}, f"{rundir.manifest_path} config")
    changes: dict[str, Any] = {k: v for k, v in (("max_retries", max_retries), ("timeout", timeout), ("concurrency", concurrency))
               if v is not None}
    if timeout is not None:
        changes["backend"] = dataclasses.replace(config.backend, timeout=timeout)
    config = dataclasses.replace(config, out=run, quiet=quiet or config.quiet, **changes)
    typer.echo(f"retrying {errored} errored samples of {run}", err=True)
    summary = run_evaluation(config)
    print_results(summary.results, title=f"Results — {summary.out}")
    still = summary.n_errors
    typer.echo(f"{errored - still} of {errored} errored samples now answered; {still} still errored", err=True)
    if summary.exceeded_error_rate:
        raise typer.Exit(1)
