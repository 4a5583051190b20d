"""BFCL's possible answers: ``possible_answer/BFCL_v4_<category>.json`` beside the question files (JSON Lines,
same ids in the same order), read as {id: ground_truth}."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalkit.errors import DataError


def load_possible_answers(path: Path) -> dict[str, list[dict[str, Any]]]:
    answers: dict[str, list[dict[str, Any]]] = {}
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except OSError as exc:
        raise DataError(f"cannot read BFCL possible answers {path}: {exc}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
        truth = row.get("ground_truth") if isinstance(row, dict) else None
        if not isinstance(truth, list) or not all(isinstance(c, dict) and len(c) == 1 for c in truth):
            raise DataError(f"{path}:{number}: ground_truth must be a list of {{function: {{param: [values]}}}}")
        answers[str(row.get("id"))] = truth
    return answers
