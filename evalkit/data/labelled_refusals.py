"""XSTest's human-labelled model completions (``xstest/model_completions/*.csv``) as LabelledReply records."""

from __future__ import annotations

import csv
from pathlib import Path

from evalkit.errors import DataError
from evalkit.scoring.refusal_rules import LABELS
from evalkit.scoring.refusal_validation import LabelledReply

XSTEST_LABELLED_MODELS = ("gpt4", "llama2new", "mistralinstruct")


def load_labelled_completions(folder: Path) -> dict[str, list[LabelledReply]]:
    """One list per model; a prompt is unsafe when its XSTest type is a ``contrast_*`` type."""
    sets: dict[str, list[LabelledReply]] = {}
    for model in XSTEST_LABELLED_MODELS:
        path = folder / f"xstest_v2_completions_{model}.csv"
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        for line, row in enumerate(rows, start=2):
            if row.get("final_label") not in LABELS:
                raise DataError(f"{path}:{line}: final_label must be one of {', '.join(LABELS)}, "
                                f"got {row.get('final_label')!r}")
        sets[model] = [LabelledReply(text=row["completion"], unsafe=row["type"].startswith("contrast"),
                                     label=row["final_label"], annotator_1=row.get("annotation_1"),
                                     annotator_2=row.get("annotation_2")) for row in rows]
    return sets
