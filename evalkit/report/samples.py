"""Pack every run's samples for the report's sample browser: columnar, deduplicated, gzip + base64.

Prompts and targets repeat across runs (every model saw the same prompt), so each distinct text is
stored once and rows point at it. The whole table is gzipped and base64-encoded: 10 runs × 6 benchmarks
× 1,000 samples fit in a few MB, and base64 holds no character that could end a <script> element.
The page inflates it with the browser's DecompressionStream (no network, no library).
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

from evalkit.report.collect import Column, RunView
from evalkit.store.rundir import RunDir


def outcome(row: dict[str, Any], col: Column | None) -> str:
    """pass / fail on a 0/1 primary metric, error, scored (continuous) or none (no score)."""
    if row.get("error"):
        return "error"
    if col is None:
        return "none"
    score = (row.get("scores") or {}).get(col.metric)
    if score is None:
        return "none"
    best, worst = (1, 0) if col.higher_is_better else (0, 1)
    if score == best:
        return "pass"
    if score == worst:
        return "fail"
    return "scored"


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _scores(scores: dict[str, Any] | None) -> str:
    parts = []
    for name, value in (scores or {}).items():
        shown = "—" if value is None else f"{value:.4g}" if isinstance(value, (int, float)) else str(value)
        parts.append(f"{name} {shown}")
    return " · ".join(parts)


def pack(views: list[RunView], cols: list[Column]) -> tuple[dict[str, Any], int]:
    """The browser's table as plain data, and the number of rows."""
    by_name = {c.name: c for c in cols}
    benchmarks: dict[str, int] = {}
    texts: dict[str, int] = {}
    table: dict[str, list[Any]] = {k: [] for k in ("run", "bench", "id", "prompt", "target", "output", "outcome",
                                                   "scores", "error")}

    def text_index(value: str) -> int:
        return texts.setdefault(value, len(texts))

    for run_index, view in enumerate(views):
        for row in RunDir(view.path).samples():
            name = str(row.get("benchmark"))
            table["run"].append(run_index)
            table["bench"].append(benchmarks.setdefault(name, len(benchmarks)))
            table["id"].append(_text(row.get("id")))
            table["prompt"].append(text_index(_text(row.get("input"))))
            table["target"].append(text_index(_text(row.get("target"))))
            table["output"].append(_text(row.get("output")))
            table["outcome"].append(outcome(row, by_name.get(name)))
            table["scores"].append(_scores(row.get("scores")))
            table["error"].append(_text(row.get("error")))
    data = {"runs": [v.label for v in views], "benchmarks": list(benchmarks), "texts": list(texts), "rows": table}
    return data, len(table["run"])


def encode(data: dict[str, Any]) -> str:
    """gzip + base64 of the JSON text (deterministic: no timestamp in the gzip header)."""
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(gzip.compress(raw, compresslevel=4, mtime=0)).decode("ascii")


def decode(blob: str) -> dict[str, Any]:
    """The inverse of ``encode`` (tests and tools that read a report back)."""
    return json.loads(gzip.decompress(base64.b64decode(blob)).decode("utf-8"))  # type: ignore[no-any-return]
