"""`evalkit list`: every benchmark with its category, size, kind, modes and data source."""

from __future__ import annotations

from typing import Annotated, Any, get_args

import typer


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return head + dot.strip() if dot else text


def benchmark_rows(category: str | None = None) -> list[dict[str, Any]]:
    """One dict per bundled (or EVALKIT_BENCHMARKS_PATH) spec, sorted by category then name."""
    from evalkit.specs.benchmark import load_spec
    from evalkit.specs.registry import available_specs

    rows = []
    for name, path in available_specs().items():
        spec = load_spec(path)
        if category is not None and spec.category != category:
            continue
        hub = spec.sources.hub
        rows.append({
            "name": name, "category": spec.category, "size": spec.size, "kind": spec.kind, "modes": list(spec.modes),
            "fewshot": spec.fewshot.k, "hub": f"{hub.path}" + (f" ({hub.name})" if isinstance(hub.name, str) else "")
            if hub else None, "revision": hub.revision if hub else None,
            "local": spec.sources.local.files if spec.sources.local else None,
            "description": " ".join(spec.description.split()), "path": str(path),
        })
    return sorted(rows, key=lambda r: (r["category"], r["name"]))


def list_command(
    category: Annotated[str | None, typer.Option(help="Only this category: knowledge, reasoning, coding, safety, instruction-following, tool_use, general.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (one object per benchmark) instead of a table.")] = False,
) -> None:
    """List available benchmarks: category, size, kind, modes, few-shot count, data source."""
    import json

    from rich.console import Console
    from rich.table import Table

    from evalkit.errors import ConfigError
    from evalkit.specs.benchmark import Category

    known = get_args(Category)
    if category is not None and category not in known:
        raise ConfigError(f"--category {category!r}: choose one of {', '.join(known)}")
    rows = benchmark_rows(category)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"Benchmarks ({len(rows)})")
    for column in ("name", "category", "size", "kind", "modes", "shots", "hub id (--data-dir path)", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        source = (row["hub"] + (f" @{row['revision'][:7]}" if row["revision"] else "")) if row["hub"] else "local only"
        if row["local"]:
            source += f"\n({row['local']})"
        table.add_row(row["name"], row["category"], str(row["size"] or "?"), row["kind"], ",".join(row["modes"]),
                      str(row["fewshot"]), source, _first_sentence(row["description"]))
    Console(width=200).print(table)
