"""The run directory: manifest.json, samples.jsonl, results.json, and the journal.

Layout (documented in docs/run-directory.md)::

    <out>/manifest.json    config without secrets, versions, seed, times, request/token counts
    <out>/samples.jsonl    one row per sample: benchmark, id, input, output, target, scores, error…
    <out>/results.json     {"benchmarks": {NAME: {"n", "n_errors", "metrics": {M: {value, stderr, ci95}}}}}
    <out>/journal.sqlite   every completed model response, written before scoring (resume source)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from evalkit.errors import DataError


class RunDir:
    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    @property
    def samples_path(self) -> Path:
        return self.path / "samples.jsonl"

    @property
    def results_path(self) -> Path:
        return self.path / "results.json"

    @property
    def journal_path(self) -> Path:
        return self.path / "journal.sqlite"

    def create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def _write_atomic(self, path: Path, text: str) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)

    def write_json(self, path: Path, data: Any) -> None:
        self._write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")

    def write_samples(self, rows: Iterable[dict[str, Any]]) -> None:
        tmp = self.samples_path.with_name("samples.jsonl.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        os.replace(tmp, self.samples_path)

    # -- reading (gate, report, judge) --------------------------------------------------------
    def _read_json(self, path: Path) -> Any:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"{self.path} is not a finished run directory: {path.name} is missing") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"cannot read {path}: {exc}") from None

    def manifest(self) -> dict[str, Any]:
        return self._read_json(self.manifest_path)  # type: ignore[no-any-return]

    def results(self) -> dict[str, Any]:
        return self._read_json(self.results_path)  # type: ignore[no-any-return]

    def samples(self) -> Iterator[dict[str, Any]]:
        try:
            handle = open(self.samples_path, encoding="utf-8")
        except OSError as exc:
            raise DataError(f"cannot read {self.samples_path}: {exc.strerror}") from None
        with handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise DataError(f"{self.samples_path}:{number}: invalid JSON: {exc.msg}") from None
