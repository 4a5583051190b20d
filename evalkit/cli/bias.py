"""`evalkit bias`: audit a judge for position, length and self-enhancement bias and gold agreement."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from evalkit.types import JudgmentRow


def _print_audit(section: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from evalkit.cli.output import format_metric

    table = Table(title="Judge bias audit (95% bootstrap CIs)")
    for column in ("judge", "figure", "value [95% CI]", "n"):
        table.add_column(column)
    for judge, parts in section.items():
        for part in ("position", "length", "self_enhancement", "agreement"):
            for name, metric in parts[part].items():
                if isinstance(metric, dict):
                    table.add_row(judge, f"{part}.{name}", format_metric(metric), str(metric.get("n", "")))
        model = parts["self_enhancement"].get("model")
        table.add_row(judge, "self_enhancement.model", str(model or "— (no candidate of its family)"), "")
        table.add_row(judge, "invalid / judgments", f"{parts['n_invalid']} / {parts['n_judgments']}", "")
    Console().print(table)


def bias_command(
    judgments: Annotated[Path | None, typer.Option(help="Judgments made elsewhere: evalkit judgments.jsonl or AlpacaEval annotations.json.")] = None,
    run_dir: Annotated[Path | None, typer.Option("--run", help="A judged run directory: audit its judgments.jsonl and update its results.json.")] = None,
    pairs: Annotated[Path | None, typer.Option(help="Pairs to judge live (LLMBar/MT-Bench-pairs JSON, AlpacaEval annotations, or prompt/response_a/response_b JSONL).")] = None,
    judge: Annotated[list[str] | None, typer.Option(help="Judge model to audit live with --pairs (repeat for several).")] = None,
    judge_base_url: Annotated[str | None, typer.Option(envvar="OPENAI_BASE_URL", help="OpenAI-compatible endpoint for the judges.")] = None,
    swap: Annotated[bool, typer.Option("--swap/--no-swap", help="Judge every pair in both orders (needed for the position figures).")] = True,
    padding_probe: Annotated[int, typer.Option(help="Padding-probe pairs (the first N items' first responses against padded copies).")] = 50,
    limit: Annotated[int | None, typer.Option(help="Judge only the first N pairs.")] = None,
    judge_template: Annotated[str | None, typer.Option(help="Pairwise judge template name or YAML path.")] = None,
    criteria: Annotated[str | None, typer.Option(help="Criteria text, replacing the template's default.")] = None,
    family: Annotated[list[str] | None, typer.Option(help="NAME=FAMILY for a judge or model whose family the name does not show.")] = None,
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples per figure.")] = 1000,
    out: Annotated[Path | None, typer.Option(help="Directory for judgments.jsonl and bias.json (live or --judgments).")] = None,
    concurrency: Annotated[int, typer.Option(help="Judge requests in flight at once.")] = 32,
    timeout: Annotated[float, typer.Option(help="Seconds before one request is abandoned and retried.")] = 120.0,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not use the shared response cache.")] = False,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Audit a judge: live on pairs (--pairs with --judge), or from judgments made elsewhere."""
    import json

    from evalkit.errors import ConfigError
    from evalkit.judging.bias import audit
    from evalkit.judging.records import read_judgments
    from evalkit.store.rundir import RunDir

    if sum(x is not None for x in (judgments, run_dir, pairs)) != 1:
        raise ConfigError("give exactly one of --judgments FILE, --run DIR or --pairs FILE (with --judge)")
    if (pairs is None) != (not judge):
        raise ConfigError("--judge goes with --pairs (a live audit); --judgments and --run read judgments already made")
    if resamples < 0 or padding_probe < 0:
        raise ConfigError("--resamples and --padding-probe must be 0 or more")
    families = {}
    for entry in family or []:
        name, sep, fam = entry.partition("=")
        if not sep or not name or not fam:
            raise ConfigError(f"--family {entry!r}: write NAME=FAMILY, e.g. openai:my-model=gpt")
        families[name] = fam
    if pairs is not None:
        rows, out = _live(pairs, judge or [], judge_base_url, swap, padding_probe, limit, judge_template, criteria,
                          out, concurrency, timeout, not no_cache, quiet)
    elif run_dir is not None:
        rows = read_judgments(run_dir / "judgments.jsonl")
    else:
        rows = read_judgments(judgments)  # type: ignore[arg-type]
    if not rows:
        raise ConfigError("no judgments to audit")
    section = audit(rows, n_resamples=resamples, seed=seed, families=families)
    if run_dir is not None:
        store = RunDir(run_dir)
        results = store.results()
        results["judge_bias"] = section
        store.write_json(store.results_path, results)
    elif out is not None:  # a live audit's run directory already holds its judgments.jsonl
        out.mkdir(parents=True, exist_ok=True)
        (out / "bias.json").write_text(json.dumps({"judge_bias": section}, indent=2) + "\n", encoding="utf-8")
    _print_audit(section)
    where = run_dir / "results.json" if run_dir is not None else (out / "bias.json" if out is not None else None)
    if where is not None:
        typer.echo(f"written: {where}", err=True)


def _live(pairs: Path, judges: list[str], base_url: str | None, swap: bool, padding: int, limit: int | None,
          template: str | None, criteria: str | None, out: Path | None, concurrency: int, timeout: float,
          use_cache: bool, quiet: bool) -> tuple[list[JudgmentRow], Path]:
    """Judge the pairs now, as a run (--out is its run directory); returns the judgment rows and the directory."""
    import asyncio

    from evalkit.config import BackendOptions, RunConfig
    from evalkit.judging.live import output_dir
    from evalkit.judging.records import read_pairs
    from evalkit.judging.templates import read_criteria
    from evalkit.runner import judge_pairs

    items = read_pairs(pairs)[:limit] if limit else read_pairs(pairs)
    target = output_dir(out, f"bias-{pairs.stem}")
    options = BackendOptions(base_url=base_url, timeout=timeout)
    config = RunConfig(model=None, benchmarks=[pairs.stem], out=target, concurrency=concurrency, timeout=timeout,
                       use_cache=use_cache, judges=judges, quiet=quiet, judge_swap=swap, judge_template=template,
                       judge_criteria=read_criteria(criteria, None), backend=options, judge_backend=options)
    return asyncio.run(judge_pairs(config, pairs.stem, items, padding)).judgments, target
