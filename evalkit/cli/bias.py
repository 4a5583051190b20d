"""`evalkit bias`: audit a judge for position, length, style and self-enhancement bias and gold agreement."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

# (column, key in the agreement section, key in a by-group entry)
_RULES = (("conservative", "accuracy", "conservative"), ("sum (JudgeBench)", "accuracy_sum", "sum"),
          ("first-order", "accuracy_first_order", "first-order"), ("order ab", "accuracy_order_ab", "order_ab"),
          ("order ba", "accuracy_order_ba", "order_ba"))


def _print_audit(section: dict[str, Any], group_by: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from evalkit.cli.output import format_metric

    console = Console()
    table = Table(title="Judge bias audit (95% bootstrap CIs)")
    for column in ("judge", "figure", "value [95% CI]", "n"):
        table.add_column(column)
    for judge, parts in section.items():
        for part in ("position", "length", "style", "self_enhancement", "agreement"):
            for name, metric in parts[part].items():
                if isinstance(metric, dict) and "value" in metric:
                    shown = format_metric(metric) + (" (no CI: see note in bias.json)" if metric.get("note") else "")
                    table.add_row(judge, f"{part}.{name}", shown, str(metric.get("n", "")))
        own = parts["self_enhancement"]
        table.add_row(judge, "self_enhancement.model",
                      str(own.get("model") or f"— (no candidate of its family, {own.get('family')})"), "")
        table.add_row(judge, "invalid / judgments", f"{parts['n_invalid']} / {parts['n_judgments']}", "")
    console.print(table)
    for judge, parts in section.items():
        if parts.get("by_matchup"):
            each = Table(title=f"{judge}: win rate of model_a per match-up (95% bootstrap CIs)")
            for column in ("model_a vs model_b", "raw", "length-controlled", "style-controlled", "n"):
                each.add_column(column)
            for name, figs in parts["by_matchup"].items():
                length = figs["length"]
                each.add_row(name, format_metric(length["raw_win_rate"]), format_metric(length["lc_win_rate"]),
                             format_metric(figs["style"]["win_rate"]), str(length["raw_win_rate"]["n"]))
            console.print(each)
    for judge, parts in section.items():
        groups = parts["agreement"].get(f"by_{group_by}") if group_by else None
        if not groups or group_by is None:
            continue
        by = Table(title=f"{judge}: accuracy by {group_by} (95% bootstrap CIs)")
        by.add_column(group_by)
        for label, _, _ in _RULES:
            by.add_column(label)
        by.add_column("n")
        overall = parts["agreement"]
        by.add_row("all", *(format_metric(overall[key]) for _, key, _ in _RULES), str(overall["accuracy_sum"]["n"]))
        for value, rules in groups.items():
            by.add_row(value, *(format_metric(rules[key]) for _, _, key in _RULES), str(rules["sum"]["n"]))
        console.print(by)


def _families(entries: list[str] | None) -> dict[str, str]:
    from evalkit.errors import ConfigError

    families = {}
    for entry in entries or []:
        name, sep, fam = entry.partition("=")
        if not sep or not name.strip() or not fam.strip():
            raise ConfigError(f"--family {entry!r}: write NAME=FAMILY, e.g. openai:my-model=gpt")
        families[name.strip()] = fam.strip()
    return families


def bias_command(
    files: Annotated[list[Path] | None, typer.Argument(help="More judgment files (what a shell glob after --judgments expands to).", show_default=False)] = None,
    judgments: Annotated[list[Path] | None, typer.Option(help="Judgments made elsewhere (repeat, or a glob): evalkit judgments.jsonl, AlpacaEval annotations.json, JudgeBench judge outputs, MT-Bench *_pair.jsonl.")] = None,
    run_dir: Annotated[Path | None, typer.Option("--run", help="A judged run directory: audit its judgments.jsonl and update its results.json.")] = None,
    pairs: Annotated[Path | None, typer.Option(help="Pairs to judge live (LLMBar/MT-Bench-pairs JSON, JudgeBench pairs, AlpacaEval annotations, or prompt/response_a/response_b JSONL).")] = None,
    judge: Annotated[list[str] | None, typer.Option(help="Judge model to audit live with --pairs (repeat for several).")] = None,
    judge_base_url: Annotated[str | None, typer.Option(envvar="OPENAI_BASE_URL", help="OpenAI-compatible endpoint for the judges.")] = None,
    swap: Annotated[bool, typer.Option("--swap/--no-swap", help="Judge every pair in both orders (needed for the position figures).")] = True,
    padding_probe: Annotated[int, typer.Option(help="Padding-probe pairs (the first N items' first responses against padded copies).")] = 50,
    limit: Annotated[int | None, typer.Option(help="Judge only the first N pairs.")] = None,
    judge_template: Annotated[str | None, typer.Option(help="Pairwise judge template name or YAML path.")] = None,
    criteria: Annotated[str | None, typer.Option(help="Criteria text, replacing the template's default.")] = None,
    family: Annotated[list[str] | None, typer.Option(help="NAME=FAMILY for a judge or model whose family the name does not show (see docs/judges.md).")] = None,
    group_by: Annotated[str, typer.Option(help="Judgment field to break accuracy down by (JudgeBench: category; its raw source: source); 'none' for no breakdown.")] = "category",
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
    from evalkit.judging.inputs import read_judgment_files
    from evalkit.judging.outputs import failed_judges
    from evalkit.judging.records import write_jsonl
    from evalkit.store.rundir import RunDir

    if files and judgments is None:
        raise ConfigError(f"unexpected argument {files[0]}: extra files go with --judgments (e.g. --judgments 'runs/*/judgments.jsonl')")
    if sum(x is not None for x in (judgments, run_dir, pairs)) != 1:
        raise ConfigError("give exactly one of --judgments FILE, --run DIR or --pairs FILE (with --judge)")
    if (pairs is None) != (not judge):
        raise ConfigError("--judge goes with --pairs (a live audit); --judgments and --run read judgments already made")
    if resamples < 0 or padding_probe < 0:
        raise ConfigError("--resamples and --padding-probe must be 0 or more")
    families = _families(family)
    grouping = None if group_by.lower() == "none" else group_by
    if pairs is not None:
        rows, out = _live(pairs, judge or [], judge_base_url, swap, padding_probe, limit, judge_template, criteria,
                          out, concurrency, timeout, not no_cache, quiet)
    elif run_dir is not None:
        rows = read_judgment_files([run_dir / "judgments.jsonl"])
    else:
        rows = read_judgment_files([*(judgments or []), *(files or [])])
    if not rows:
        raise ConfigError("no judgments to audit")
    if grouping and not any(grouping in r for r in rows):
        raise ConfigError(f"--group-by {grouping}: no judgment has that field (e.g. category, benchmark, source, model_a)")
    section = audit(rows, n_resamples=resamples, seed=seed, families=families, group_by=grouping)
    if run_dir is not None:
        store = RunDir(run_dir)
        results = store.results()
        results["judge_bias"] = section
        store.write_json(store.results_path, results)
    elif out is not None:
        out.mkdir(parents=True, exist_ok=True)
        if pairs is not None:
            write_jsonl(out / "judgments.jsonl", rows)
        (out / "bias.json").write_text(json.dumps({"judge_bias": section}, indent=2) + "\n", encoding="utf-8")
    _print_audit(section, grouping)
    where = run_dir / "results.json" if run_dir is not None else (out / "bias.json" if out is not None else None)
    if where is not None:
        typer.echo(f"written: {where}", err=True)
    failures = failed_judges(rows) if pairs is not None else []
    for reason in failures:
        typer.echo(reason, err=True)
    if failures:
        raise typer.Exit(1)


def _live(pairs: Path, judges: list[str], base_url: str | None, swap: bool, padding: int, limit: int | None,
          template: str | None, criteria: str | None, out: Path | None, concurrency: int, timeout: float,
          use_cache: bool, quiet: bool) -> tuple[list[dict[str, Any]], Path]:
    """Judge the pairs now, as a run of the runner (``--out`` is its run directory); returns the judgment
    rows and the directory."""
    import asyncio

    from evalkit.config import BackendOptions, RunConfig
    from evalkit.judging.inputs import read_pair_file
    from evalkit.judging.live import output_dir
    from evalkit.judging.templates import read_criteria
    from evalkit.runner import judge_pairs

    items = read_pair_file(pairs)[:limit] if limit else read_pair_file(pairs)
    target = output_dir(out, f"bias-{pairs.stem}")
    options = BackendOptions(base_url=base_url, timeout=timeout)
    config = RunConfig(model=None, benchmarks=[pairs.stem], out=target, concurrency=concurrency, timeout=timeout,
                       use_cache=use_cache, judges=judges, quiet=quiet, judge_swap=swap, judge_template=template,
                       judge_criteria=read_criteria(criteria, None), backend=options, judge_backend=options)
    summary = asyncio.run(judge_pairs(config, pairs.stem, items, padding))
    return [row.as_dict() for row in summary.judgments], target
