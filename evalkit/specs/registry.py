"""Find benchmark specs by name: bundled ``benchmarks/*.yaml``, ``EVALKIT_BENCHMARKS_PATH`` dirs, or a path."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from evalkit.errors import ConfigError
from evalkit.paths import bundled_dir
from evalkit.specs.benchmark import BenchmarkSpec, load_spec


def spec_dirs() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("EVALKIT_BENCHMARKS_PATH", "").split(os.pathsep) if p]
    return [*extra, bundled_dir("benchmarks")]


def available_specs() -> dict[str, Path]:
    """Name → spec file; earlier directories win so users can override a bundled spec."""
    found: dict[str, Path] = {}
    for directory in spec_dirs():
        for path in sorted(directory.glob("*.yaml")):
            found.setdefault(path.stem, path)
    return found


def get_spec(name: str) -> BenchmarkSpec:
    """A spec by registered name, or by path to a YAML file."""
    if name.endswith((".yaml", ".yml")):
        path = Path(name)
        if not path.is_file():
            raise ConfigError(f"benchmark spec file {name} does not exist")
        return load_spec(path)
    specs = available_specs()
    if name not in specs:
        close = difflib.get_close_matches(name, specs, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(f"unknown benchmark {name!r}{hint}; `evalkit list` shows them all")
    spec = load_spec(specs[name])
    if spec.name != name:
        raise ConfigError(f"{specs[name]}: spec name {spec.name!r} does not match its file name")
    return spec
