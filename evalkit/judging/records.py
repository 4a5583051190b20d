"""Judgment rows (``<run>/judgments.jsonl``, ``evalkit.types.JudgmentRow``) and the pair files a judge can
be audited on.

One row per judge call that counts (after its retry), the contract the HTML report reads::

    {"benchmark", "id", "judge", "kind": "pairwise"|"pointwise", "model_a", "model_b",
     "order": "ab"|"ba", "verdict": "A"|"B"|"TIE"|"PASS"|"FAIL"|null, "winner": MODEL|"tie"|null,
     "valid": bool, "rationale"}

plus evalkit's own columns: ``score`` (model_a's score in [0, 1] from this call: 1 win, 0.5 tie, 0
loss; PASS = 1), ``len_a``/``len_b`` (characters of model_a's / model_b's response), ``gold`` (the
better model, "tie", or PASS/FAIL, when known), ``probe`` ("padding" for the padding probe),
``retried`` and ``problem`` (why a reply was invalid), ``template`` (the judge template used). In order "ab" model_a's response was shown
as Response A; in "ba" as Response B.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from evalkit.errors import DataError
from evalkit.types import JudgmentRow

REQUIRED = ("benchmark", "id", "judge", "kind", "model_a", "model_b", "order", "verdict", "winner", "valid")


@dataclass(frozen=True)
class PairItem:
    """Two responses to one prompt, to be judged; ``gold`` names the better model when known."""

    id: str
    prompt: str
    response_a: str
    response_b: str
    model_a: str
    model_b: str
    gold: str | None = None
    reference: str | None = None
    category: str | None = None


def winner_of(verdict: str | None, order: str, model_a: str, model_b: str) -> str | None:
    """The model a pairwise verdict picks, given the order the responses were shown in."""
    if verdict is None:
        return None
    if verdict == "TIE":
        return "tie"
    shown_first, shown_second = (model_a, model_b) if order == "ab" else (model_b, model_a)
    return shown_first if verdict == "A" else shown_second


def score_of(winner: str | None, model_a: str) -> float | None:
    """model_a's score from a winner: 1 win, 0.5 tie, 0 loss; None when there is no verdict."""
    if winner is None:
        return None
    return 0.5 if winner == "tie" else float(winner == model_a)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write rows atomically (a crash leaves the previous file, never half of one)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def _load_rows(path: Path) -> list[dict[str, Any]]:
    """A JSON list or JSONL file of objects."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: invalid JSON: {exc.msg} at line {exc.lineno}") from None
    else:
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
    if not all(isinstance(r, dict) for r in rows):
        raise DataError(f"{path}: every row must be a JSON object")
    return rows


_ROW_FIELDS = tuple(f.name for f in fields(JudgmentRow))


def as_judgment_row(row: dict[str, Any]) -> JudgmentRow:
    """A judgments.jsonl object as the record (columns it does not know are left out)."""
    return JudgmentRow(**{k: row[k] for k in _ROW_FIELDS if k in row})


def _from_alpaca(row: dict[str, Any], index: int) -> JudgmentRow:
    """An AlpacaEval annotation (generator_1 = baseline, preference 2 = generator_2 better) as a row.

    The candidate (generator_2) becomes model_a; a preference of 0 is a draw (1.5), as AlpacaEval counts it.
    """
    pref = row.get("preference")
    score = None if pref is None or (isinstance(pref, float) and math.isnan(pref)) else (
        0.5 if float(pref) == 0 else float(pref) - 1)
    model_a, model_b = str(row["generator_2"]), str(row["generator_1"])
    verdict = None if score is None else "TIE" if score == 0.5 else "A" if score > 0.5 else "B"
    return JudgmentRow(
        benchmark="alpaca_eval", id=str(index), judge=str(row.get("annotator", "unknown")), kind="pairwise",
        model_a=model_a, model_b=model_b, order="ab", verdict=verdict,
        winner=winner_of(verdict, "ab", model_a, model_b), valid=score is not None, rationale=None, score=score,
        len_a=len(row.get("output_2") or ""), len_b=len(row.get("output_1") or ""),
    )


def read_judgments(path: Path) -> list[JudgmentRow]:
    """Judgment rows from evalkit's ``judgments.jsonl`` or from AlpacaEval ``annotations.json``."""
    rows = _load_rows(path)
    out = []
    for number, row in enumerate(rows, 1):
        if "preference" in row and "generator_2" in row:
            out.append(_from_alpaca(row, number - 1))
            continue
        missing = [k for k in REQUIRED if k not in row]
        if missing:
            raise DataError(f"{path}: row {number}: missing {', '.join(missing)} (see docs/judges.md for the format)")
        if row["order"] not in ("ab", "ba") or row["kind"] not in ("pairwise", "pointwise"):
            raise DataError(f"{path}: row {number}: order must be ab or ba and kind pairwise or pointwise")
        if row["valid"] and row.get("score") is None:
            row = {**row, "score": 1.0 if row["verdict"] == "PASS" else 0.0 if row["verdict"] == "FAIL"
                   else score_of(row["winner"], row["model_a"])}
        out.append(as_judgment_row(row))
    return out


def _first(row: dict[str, Any], names: tuple[str, ...]) -> Any:
    return next((row[n] for n in names if row.get(n) is not None), None)


def read_pairs(path: Path) -> list[PairItem]:
    """Pairs to judge: LLMBar/MT-Bench-pairs rows ({input, output_1, output_2, label}), AlpacaEval
    annotations (the candidate generator_2 becomes model_a), or {prompt, response_a, response_b,
    model_a?, model_b?, gold?} rows."""
    items = []
    for number, row in enumerate(_load_rows(path), 1):
        alpaca = "generator_2" in row and "output_2" in row
        prompt = _first(row, ("prompt", "instruction", "input"))
        a = _first(row, ("response_a", "output_2" if alpaca else "output_1"))
        b = _first(row, ("response_b", "output_1" if alpaca else "output_2"))
        if not isinstance(prompt, str) or not isinstance(a, str) or not isinstance(b, str):
            raise DataError(f"{path}: row {number}: needs a prompt and two responses "
                            "(prompt/response_a/response_b, or input/output_1/output_2)")
        model_a = str(_first(row, ("model_a", "generator_2" if alpaca else "generator_1")) or "output_1")
        model_b = str(_first(row, ("model_b", "generator_1" if alpaca else "generator_2")) or "output_2")
        if model_a == model_b:
            model_a, model_b = f"{model_a}#1", f"{model_b}#2"
        gold = _first(row, ("gold", "label"))
        if gold is not None:
            gold = {"1": model_a, "2": model_b, "A": model_a, "B": model_b}.get(str(gold).upper(), str(gold))
            if gold not in (model_a, model_b, "tie"):
                raise DataError(f"{path}: row {number}: gold/label must be 1, 2, A, B, tie or a model name")
        item_id = row.get("id")
        if item_id is None:
            item_id = f"{path.stem}-{number - 1}-{hashlib.sha256(prompt.encode()).hexdigest()[:8]}"
        items.append(PairItem(id=str(item_id), prompt=prompt, response_a=a, response_b=b, model_a=model_a,
                              model_b=model_b, gold=gold, reference=row.get("reference"),
                              category=row.get("category")))
    if not items:
        raise DataError(f"{path}: no pairs in the file")
    return items
