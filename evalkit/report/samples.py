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


def target_text(row: dict[str, Any]) -> str:
    """The target as a reader needs it: a multiple-choice index shown with its choice's text."""
    target, choices = row.get("target"), row.get("choices")
    if isinstance(choices, list) and isinstance(target, int) and not isinstance(target, bool) \
            and 0 <= target < len(choices):
        return f"{target} ({chr(65 + target)}. {choices[target]})" if target < 26 else f"{target} ({choices[target]})"
    return _text(target)


def outputs(row: dict[str, Any]) -> str:
    """Every turn's answer: a second turn (MT-Bench) follows the first, marked."""
    first = _text(row.get("output"))
    second = row.get("output_turn2")
    return f"{first}\n\n──── turn 2 ────\n{_text(second)}" if second is not None else first


def judgment_lines(rows: list[dict[str, Any]]) -> str:
    """One block per judgment of a sample: judge, order or turn, verdict (or INVALID and why), rationale."""
    parts = []
    for j in rows:
        where = f"order {j['order']}" if j.get("order") else f"turn {j['turn']}" if j.get("turn") else ""
        verdict = str(j.get("verdict")) if j.get("valid") else f"INVALID ({j.get('problem') or 'no verdict'})"
        head = " · ".join(p for p in (str(j.get("judge") or "judge"), where, verdict) if p)
        parts.append(f"{head}\n{_text(j.get('rationale'))}".rstrip())
    return "\n\n".join(parts)


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
                                                   "scores", "error", "extracted", "judgments")}

    def text_index(value: str) -> int:
        return texts.setdefault(value, len(texts))

    for run_index, view in enumerate(views):
        judged: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for j in view.judgments:
            judged.setdefault((str(j.get("benchmark")), str(j.get("id"))), []).append(j)
        for row in _rows(view):
            name = str(row.get("benchmark"))
            table["run"].append(run_index)
            table["bench"].append(benchmarks.setdefault(name, len(benchmarks)))
            table["id"].append(_text(row.get("id")))
            table["prompt"].append(text_index(_text(row.get("input"))))
            table["target"].append(text_index(target_text(row)))
            table["output"].append(outputs(row))
            table["outcome"].append(outcome(row, by_name.get(name)))
            table["scores"].append(_scores(row.get("scores")))
            table["error"].append(_text(row.get("error")))
            table["extracted"].append(_text(row.get("extracted")))
            table["judgments"].append(judgment_lines(judged.get((name, _text(row.get("id"))), [])))
    data = {"runs": [v.label for v in views], "benchmarks": list(benchmarks), "texts": list(texts), "rows": table}
    return data, len(table["run"])


def _rows(view: RunView) -> Any:
    """The samples of each benchmark the view shows, from the run directory that benchmark comes from."""
    for path in view.paths or [view.path]:
        for row in RunDir(path).samples():
            if view.sources.get(str(row.get("benchmark")), path) == path:
                yield row


def encode(data: dict[str, Any]) -> str:
    """gzip + base64 of the JSON text (deterministic: no timestamp in the gzip header)."""
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(gzip.compress(raw, compresslevel=4, mtime=0)).decode("ascii")


def decode(blob: str) -> dict[str, Any]:
    """The inverse of ``encode`` (tests and tools that read a report back)."""
    return json.loads(gzip.decompress(base64.b64decode(blob)).decode("utf-8"))  # type: ignore[no-any-return]
