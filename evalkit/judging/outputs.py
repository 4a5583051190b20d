"""What a judged run leaves behind: ``<run>/judgments.jsonl`` and the ``judge_bias`` audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalkit.judging.bias import audit
from evalkit.judging.records import write_jsonl
from evalkit.types import JudgmentRow


def write_judge_outputs(run_dir: Path, rows: list[JudgmentRow], seed: int = 0,
                        n_resamples: int = 1000) -> dict[str, Any]:
    """Write the judgment rows and return results.json's ``judge_bias`` section for them."""
    write_jsonl(run_dir / "judgments.jsonl", [row.as_dict() for row in rows])
    return audit(rows, n_resamples=n_resamples, seed=seed)
