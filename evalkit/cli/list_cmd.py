"""`evalkit list`: every benchmark with its category, size, kind and modes."""

from __future__ import annotations


def list_command() -> None:
    """List available benchmarks."""
    from rich.console import Console
    from rich.table import Table

    from evalkit.spec.benchmark import load_spec
    from evalkit.spec.registry import available_specs

    table = Table(title="Benchmarks")
    for column in ("name", "category", "size", "kind", "modes", "description"):
        table.add_column(column)
    for name, path in sorted(available_specs().items()):
        spec = load_spec(path)
        table.add_row(name, spec.category, str(spec.size or "?"), spec.kind, ",".join(spec.modes), spec.description)
    Console(width=200).print(table)
