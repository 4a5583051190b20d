"""Raw rows from a benchmark's data: local files under --data-dir, or the Hugging Face hub.

Each row is a dict; ``_file`` (file stem) and ``_index`` (position) are added so specs can derive
ids and groups (e.g. the MMLU subject) from where a row came from.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from pathlib import Path
from typing import Any

from evalkit.errors import DataError
from evalkit.specs.benchmark import HubSource, LocalSource

Row = dict[str, Any]


def load_local(source: LocalSource, data_dir: Path) -> list[Row]:
    paths = sorted(data_dir.glob(source.files))
    if not paths:
        raise DataError(f"no data file matches {data_dir / source.files}: check --data-dir")
    rows: list[Row] = []
    for path in paths:
        for number, row in enumerate(_read_file(path, source), 1):
            if not isinstance(row, dict):
                raise DataError(f"{path}: record {number} is {type(row).__name__}, not an object with fields")
            row["_file"] = path.name.split(".")[0]
            row["_index"] = len(rows)
            rows.append(row)
    return rows


def local_sha256(source: LocalSource, data_dir: Path) -> str:
    """One sha256 over every file the source matches (names relative to --data-dir, then bytes), so two
    runs on different local copies never look alike to the gate."""
    digest = hashlib.sha256()
    for path in sorted(data_dir.glob(source.files)):
        digest.update(str(path.relative_to(data_dir)).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError as exc:
            raise DataError(f"cannot read {path}: {exc.strerror}") from None
        digest.update(b"\0")
    return digest.hexdigest()


def _read_text(path: Path) -> str:
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        return raw.decode("utf-8-sig")  # TruthfulQA's CSVs start with a BOM
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None


def _read_parquet(path: Path) -> list[Row]:
    """Rows of a Parquet file (the hub's own format, e.g. MMLU-Pro); list columns become Python lists."""
    try:
        import pyarrow.parquet as pq  # type: ignore[import-untyped]  # a dependency of datasets
    except ImportError:  # pragma: no cover - datasets requires pyarrow
        raise DataError(f"reading {path} needs pyarrow: pip install pyarrow") from None
    try:
        return pq.read_table(path).to_pylist()  # type: ignore[no-any-return]
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path} as Parquet: {exc}") from None


def _read_file(path: Path, source: LocalSource) -> list[Row]:
    fmt = source.format
    if fmt == "auto":
        name = path.name.removesuffix(".gz")
        fmt = "csv" if name.endswith(".csv") else "jsonl" if name.endswith(".jsonl") else "json"
        fmt = "text" if name.endswith(".txt") else "parquet" if name.endswith(".parquet") else fmt
    if fmt == "parquet":
        return _read_parquet(path)
    text = _read_text(path)
    if fmt == "text":  # e.g. BIG-Bench-Hard's cot-prompts/<task>.txt: one prompt per file
        return [{"text": text}]
    if fmt == "csv":
        return [dict(r) for r in csv.DictReader(io.StringIO(text, newline=""))]
    if fmt == "jsonl":
        rows = []
        for number, line in enumerate(text.split("\n"), 1):  # not splitlines(): U+2028 may sit inside a string
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
        return rows
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: invalid JSON: {exc.msg} at line {exc.lineno}") from None
    if source.records:
        data = data.get(source.records) if isinstance(data, dict) else None
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON list of rows{' under ' + repr(source.records) if source.records else ''}")
    return [dict(r) if isinstance(r, dict) else r for r in data]  # non-objects are reported by load_local


def load_hub(source: HubSource) -> list[Row]:
    """Rows from ``datasets.load_dataset`` (imported only here: API runs on local data stay light).

    A list of config names loads each in turn and concatenates them; ``_config`` names each row's.
    """
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets is a declared dependency
        raise DataError("the `datasets` package is needed to load from the hub: pip install datasets") from None
    configs = source.name if isinstance(source.name, list) else [source.name]
    rows: list[dict[str, Any]] = []
    for config in configs:
        try:
            dataset = datasets.load_dataset(source.path, config, split=source.split, revision=source.revision)
        except Exception as exc:  # noqa: BLE001 - datasets raises many unrelated types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(
                f"cannot load {source.path}{'/' + config if config else ''} from the hub ({first}); "
                "offline? pass --data-dir with local copies"
            ) from None
        for row in dataset:
            row = dict(row)
            row["_file"] = source.split
            row["_config"] = config
            row["_index"] = len(rows)
            rows.append(row)
    return rows
