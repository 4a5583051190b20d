"""Validate hypothesis/reference lists once, before any metric runs: one clear line per problem."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evalkit.errors import DataError

References = list[list[str]]


def as_references(value: Any, where: str) -> list[str]:
    """One item's references: a string or a non-empty list of strings."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return list(value)
    if value is None or (isinstance(value, (list, tuple)) and not value):
        raise DataError(f"{where}: no reference; every item needs at least one reference text")
    raise DataError(f"{where}: a reference must be a string or a list of strings, got {type(value).__name__}"
                    f"{' with non-strings' if isinstance(value, (list, tuple)) else ''}")


def check_inputs(hypotheses: Sequence[Any], references: Sequence[Any],
                 ids: Sequence[str] | None = None) -> tuple[list[str], References]:
    """(hypotheses, references as lists) after checking lengths and types."""
    if len(hypotheses) == 0:
        raise DataError("no predictions to score: the predictions are empty")
    if len(hypotheses) != len(references):
        raise DataError(f"{len(hypotheses)} predictions but {len(references)} references: "
                        "they must be aligned one to one")
    names = list(ids) if ids is not None else [f"item {i + 1}" for i in range(len(hypotheses))]
    hyps = []
    for name, hyp in zip(names, hypotheses):
        if not isinstance(hyp, str):
            what = "missing" if hyp is None else f"a {type(hyp).__name__}, not a string"
            raise DataError(f"{name}: the prediction is {what}")
        hyps.append(hyp)
    refs = [as_references(ref, name) for name, ref in zip(names, references)]
    return hyps, refs


def reference_streams(references: References) -> list[list[str | None]]:
    """sacrebleu's layout: one stream per reference position, ``None`` where an item has fewer references."""
    width = max(len(r) for r in references)
    return [[r[k] if k < len(r) else None for r in references] for k in range(width)]
