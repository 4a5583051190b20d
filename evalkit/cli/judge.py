"""`evalkit judge`: judge answers that already exist — a run directory or a predictions file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def judge_command(
    source: Annotated[Path, typer.Argument(help="A run directory (its samples.jsonl) or a predictions file (id, output).")],
    judge: Annotated[list[str], typer.Option(help="Judge model (repeat for a jury), e.g. openai:gpt-4o.")],
    benchmark: Annotated[str | None, typer.Option(help="Comma-separated judged benchmarks (default: the run's).")] = None,
    limit: Annotated[int | None, typer.Option(help="Judge only the first N samples of each benchmark (default: the run's --limit).")] = None,
    model_name: Annotated[str | None, typer.Option(help="Name of the judged model in judgments (default: the run's model or the file's stem).")] = None,
    out: Annotated[Path | None, typer.Option(help="Run directory to write (default: SOURCE-judged). Again with the same --out resumes.")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Directory with local copies of benchmark data (default: the run's).")] = None,
    judge_base_url: Annotated[str | None, typer.Option(envvar="OPENAI_BASE_URL", help="OpenAI-compatible endpoint for the judges.")] = None,
    swap: Annotated[bool, typer.Option("--swap", help="Judge every pair in both orders.")] = False,
    swap_policy: Annotated[str, typer.Option(help="conservative (a flip is a tie) or balanced (orders averaged).")] = "conservative",
    jury: Annotated[str, typer.Option(help="Several --judge: majority or mean.")] = "majority",
    judge_template: Annotated[str | None, typer.Option(help="Judge template name (judges/) or YAML path.")] = None,
    criteria: Annotated[str | None, typer.Option(help="Criteria text, replacing the template's default.")] = None,
    criteria_file: Annotated[Path | None, typer.Option(help="File holding the criteria.")] = None,
    concurrency: Annotated[int, typer.Option(help="Judge requests in flight at once.")] = 32,
    timeout: Annotated[float, typer.Option(help="Seconds before one request is abandoned and retried.")] = 120.0,
    max_retries: Annotated[int, typer.Option(help="Retries per request for 429/5xx/timeouts.")] = 6,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not use the shared response cache.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Judge existing answers: writes judgments.jsonl and results.json (with judge_bias) to --out."""
    from evalkit.cli.output import print_results
    from evalkit.config import BackendOptions, RunConfig
    from evalkit.errors import ConfigError
    from evalkit.judging.templates import read_criteria
    from evalkit.runner import run
    from evalkit.store.rundir import RunDir

    benchmarks = [b.strip() for b in benchmark.split(",") if b.strip()] if benchmark else []
    if source.is_dir():
        manifest = RunDir(source).manifest()
        predictions = source / "samples.jsonl"
        benchmarks = benchmarks or list(manifest.get("benchmarks", {}))
        model_name = model_name or manifest.get("model", {}).get("name")
        limit = limit or manifest.get("config", {}).get("limit")
        saved_dir = manifest.get("config", {}).get("data_dir")
        data_dir = data_dir or (Path(saved_dir) if saved_dir else None)
    elif source.is_file():
        predictions = source
        model_name = model_name or source.stem
    else:
        raise ConfigError(f"{source} is neither a run directory nor a predictions file")
    if not benchmarks:
        raise ConfigError("name the judged benchmark(s) with --benchmark (e.g. alpaca_eval, mt_bench)")
    options = BackendOptions(base_url=judge_base_url, timeout=timeout)
    config = RunConfig(
        model=f"predictions:{predictions}", benchmarks=benchmarks, out=out or source.with_name(source.stem + "-judged"),
        data_dir=data_dir, limit=limit, concurrency=concurrency, timeout=timeout, max_retries=max_retries, use_cache=not no_cache,
        judges=judge, quiet=quiet, judge_swap=swap, judge_policy=swap_policy, jury=jury, judge_template=judge_template,
        judge_criteria=read_criteria(criteria, criteria_file), candidate_name=model_name,
        backend=options, judge_backend=options,
    )
    summary = run(config)
    print_results(summary.results, title=f"Judged — {summary.out}")
    if summary.exceeded_error_rate:
        typer.echo(f"{summary.n_errors} of {summary.n_samples} samples errored (see samples.jsonl)", err=True)
        raise typer.Exit(1)
    for reason in summary.judge_failures:  # a judge that answered nothing measured nothing: a failed run
        typer.echo(reason, err=True)
    if summary.judge_failures:
        raise typer.Exit(1)
