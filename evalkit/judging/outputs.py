"""What a judged run leaves behind: ``<run>/judgments.jsonl``, the ``judge_bias`` audit, and whether
the judging failed outright."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from evalkit.judging.bias import audit
from evalkit.judging.records import write_jsonl
from evalkit.types import JudgmentRow


def write_judge_outputs(run_dir: Path, rows: list[JudgmentRow], seed: int = 0,
                        n_resamples: int = 1000) -> dict[str, Any]:
    """Write the judgment rows and return results.json's ``judge_bias`` section for them."""
    dicts = [row.as_dict() for row in rows]  # the audit reads judgments.jsonl's mappings, from here or a file
    write_jsonl(run_dir / "judgments.jsonl", dicts)
    return audit(dicts, n_resamples=n_resamples, seed=seed)


def failed_judges(rows: list[dict[str, Any]]) -> list[str]:
    """One reason per judge that answered nothing usable: every one of its judgments invalid.

    Such a run measured nothing (a metric of n = 0 is not a result), so it is a failed run, not a
    success full of invalid judgments; the most common problem says why (unreachable, unparseable)."""
    reasons = []
    for judge in sorted({r["judge"] for r in rows}):
        mine = [r for r in rows if r["judge"] == judge]
        if mine and not any(r["valid"] for r in mine):
            problem, count = Counter(str(r.get("problem") or "no verdict") for r in mine).most_common(1)[0]
            reasons.append(f"judge {judge} answered nothing usable: all {len(mine)} judgments are invalid "
                           f"(most common problem, {count}×: {problem[:200]})")
    return reasons
