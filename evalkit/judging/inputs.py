"""Judgments and pairs made elsewhere, read strictly: one pydantic schema per accepted format.

Judgment formats (``evalkit bias --judgments``), told apart by the first row's keys:

- ``evalkit``     evalkit's own ``judgments.jsonl`` (docs/judges.md "Outputs")
- ``alpaca_eval`` AlpacaEval ``annotations.json``: ``preference`` 1 = output_1 (the baseline) better,
                  2 = output_2 better, a float in [1, 2] for weighted annotators, 0 = a draw; null/NaN =
                  the annotator gave nothing (an invalid judgment)
- ``judgebench``  JudgeBench judge outputs: a pair plus ``judge_name`` and ``judgments: [original order,
                  swapped order]``, each ``{"judgment": {...}, "decision": "A>B"|"B>A"|"A=B"|null}`` or null
- ``mt_bench``    FastChat MT-Bench pairwise judgments (``model_judgment/*_pair.jsonl``):
                  ``g1_winner`` (original order) and ``g2_winner`` (swapped) ∈ model_1 | model_2 | tie | error

Pair formats (``--pairs``): LLMBar / MT-Bench-pairs ``{input, output_1, output_2, label ∈ {1, 2}}``,
JudgeBench pairs (``label`` A>B | B>A), AlpacaEval annotations, and ``{prompt, response_a, response_b, …}``.

Every field is checked (types strict: ``"false"`` is not a boolean, ``"3"`` not a number); a bad row
is a ``DataError`` naming the file, the line and the field. Rows must be unique per (benchmark, id,
judge, models, order, probe) across every file read together.
"""

from __future__ import annotations

import glob
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from evalkit.errors import DataError
from evalkit.judging.records import PairItem, score_of, winner_of
from evalkit.judging.style import markdown_counts

Row = dict[str, Any]
Number = float  # strict: a JSON integer or float; a string or a boolean is refused


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Open(BaseModel):
    """Formats whose producers add columns of their own (kept, not checked)."""

    model_config = ConfigDict(extra="allow", strict=True)


# ----------------------------------------------------------------------------------------- schemas


class MarkdownCounts(_Strict):
    headers: int = Field(ge=0)
    bold: int = Field(ge=0)
    lists: int = Field(ge=0)


class EvalkitJudgment(_Strict):
    """One row of evalkit's judgments.jsonl."""

    benchmark: StrictStr
    id: StrictStr
    judge: StrictStr = Field(min_length=1)
    kind: Literal["pairwise", "pointwise"]
    model_a: StrictStr = Field(min_length=1)
    model_b: StrictStr | None
    order: Literal["ab", "ba"]
    verdict: Literal["A", "B", "TIE", "PASS", "FAIL"] | None
    winner: StrictStr | None
    valid: StrictBool
    rationale: StrictStr | None = None
    score: Number | None = Field(default=None, ge=0, le=1)
    len_a: StrictInt | None = Field(default=None, ge=0)
    len_b: StrictInt | None = Field(default=None, ge=0)
    md_a: MarkdownCounts | None = None
    md_b: MarkdownCounts | None = None
    gold: StrictStr | None = None
    probe: Literal["padding"] | None = None
    category: StrictStr | None = None
    source: StrictStr | None = None
    retried: StrictBool = False
    problem: StrictStr | None = None
    template: StrictStr | None = None


class AlpacaAnnotation(_Open):
    """One AlpacaEval annotation (generator_1 is the baseline, generator_2 the candidate)."""

    instruction: StrictStr
    output_1: StrictStr
    generator_1: StrictStr
    output_2: StrictStr
    generator_2: StrictStr
    annotator: StrictStr = Field(min_length=1)
    preference: Number | None


class JudgeBenchPair(_Strict):
    """One JudgeBench pair; ``label`` names the objectively correct response."""

    pair_id: StrictStr
    original_id: StrictStr | StrictInt | None  # null for some LiveCodeBench pairs
    source: StrictStr
    question: StrictStr
    response_model: StrictStr
    response_A: StrictStr
    response_B: StrictStr
    label: Literal["A>B", "B>A"]


class JudgeBenchJudgment(_Strict):
    judgment: dict[str, Any] | None = None
    decision: Literal["A>B", "B>A", "A=B"] | None


class JudgeBenchOutput(JudgeBenchPair):
    """A JudgeBench judge output: the pair, the judge, and its judgment per order (original first)."""

    judge_name: StrictStr = Field(min_length=1)
    judgments: list[JudgeBenchJudgment | None] = Field(min_length=1, max_length=2)


class MTBenchPairJudgment(_Open):
    """One FastChat MT-Bench pairwise judgment (g2 is the swapped order, already mapped to models)."""

    question_id: StrictInt | StrictStr
    model_1: StrictStr
    model_2: StrictStr
    g1_winner: Literal["model_1", "model_2", "tie", "error"]
    g2_winner: Literal["model_1", "model_2", "tie", "error"]
    judge: list[StrictStr] = Field(min_length=2, max_length=2)  # [judge model, prompt name]
    turn: Literal[1, 2] = 1


class LLMBarPair(_Strict):
    input: StrictStr
    output_1: StrictStr
    output_2: StrictStr
    label: Literal[1, 2]


class EvalkitPair(_Strict):
    prompt: StrictStr
    response_a: StrictStr
    response_b: StrictStr
    id: StrictStr | StrictInt | None = None
    model_a: StrictStr | None = None
    model_b: StrictStr | None = None
    gold: StrictStr | Literal[1, 2] | None = None
    reference: StrictStr | None = None
    category: StrictStr | None = None


# ------------------------------------------------------------------------------------- file reading


def load_rows(path: Path) -> list[tuple[int, Any]]:
    """(line, value) for each row of a JSON array or a JSONL file; the line is where the row starts."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    rows: list[tuple[int, Any]] = []
    if not text.lstrip().startswith("["):
        for number, content in enumerate(text.splitlines(), 1):
            if content.strip():
                try:
                    rows.append((number, json.loads(content)))
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
        return rows
    decoder = json.JSONDecoder()
    pos, line = text.index("[") + 1, 1
    last = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos < len(text) and text[pos] == "]" and not rows:
            return rows
        line += text.count("\n", last, pos)
        last = pos
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        rows.append((line, value))
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        if pos < len(text) and text[pos] == "]" and not text[pos + 1:].strip():
            return rows
        raise DataError(f"{path}:{line + text.count(chr(10), last, pos)}: invalid JSON: expected ',' or ']'")


_UNION_TAGS = {"str", "int", "float", "bool", "none", "list", "dict"}


def _field_error(path: Path, line: int, exc: ValidationError) -> DataError:
    """The first validation error as one line; the union-member tags pydantic adds to a location
    (``str``, ``JudgeBenchJudgment``, ``literal[…]``) are dropped so the field reads as written."""
    first = exc.errors()[0]
    parts = [str(p) for p in first["loc"]]
    field = ".".join(p for p in parts if p not in _UNION_TAGS and not p[:1].isupper() and "[" not in p) or "row"
    shown = "" if first["type"] == "missing" else f" (got {json.dumps(first.get('input'))[:60]})"
    return DataError(f"{path}:{line}: {field}: {first['msg']}{shown}")


def _bad(path: Path, line: int, field: str, message: str) -> DataError:
    return DataError(f"{path}:{line}: {field}: {message}")


def _validated(schema: type[BaseModel], path: Path, line: int, value: Any) -> Any:
    if not isinstance(value, dict):
        raise DataError(f"{path}:{line}: row: every row must be a JSON object")
    try:
        return schema.model_validate(value)
    except ValidationError as exc:
        raise _field_error(path, line, exc) from None


def _rows_and_format(path: Path, formats: Mapping[str, tuple[str, ...]], what: str,
                     unknown: str) -> tuple[list[tuple[int, Any]], str]:
    """A file's rows and its format, told by the keys of its first row."""
    raw = load_rows(path)
    if not raw:
        raise DataError(f"{path}: no {what} in the file")
    first = raw[0][1]
    present = set(first) if isinstance(first, dict) else set()
    kind = next((name for name, needed in formats.items() if present.issuperset(needed)), None)
    if kind is None:
        raise DataError(f"{path}:{raw[0][0]}: row: {unknown}")
    return raw, kind


JUDGMENT_FORMATS = {"judgebench": ("pair_id", "judgments"), "alpaca_eval": ("preference", "generator_2"),
                    "mt_bench": ("g1_winner", "g2_winner"), "evalkit": ("judge",)}
PAIR_FORMATS = {"judgebench": ("pair_id", "response_A"), "alpaca_eval": ("generator_2", "output_2"),
                "llmbar": ("input", "output_1"), "evalkit": ("prompt", "response_a")}


def expand(paths: Iterable[Path | str]) -> list[Path]:
    """Paths as given, a pattern with ``*?[`` that names no file expanded as a glob (sorted)."""
    out: list[Path] = []
    for raw in paths:
        text = str(raw)
        if not Path(text).exists() and glob.has_magic(text):
            found = sorted(glob.glob(text))
            if not found:
                raise DataError(f"--judgments {text}: the pattern matches no file")
            out.extend(Path(f) for f in found)
        else:
            out.append(Path(text))
    return out


# ------------------------------------------------------------------------------------------ judgments


def read_judgment_files(paths: Path | str | Iterable[Path | str]) -> list[Row]:
    """Judgment rows from every file, each in its own format; duplicates across files are errors."""
    rows: list[Row] = []
    seen: dict[tuple[Any, ...], str] = {}
    for path in expand([paths] if isinstance(paths, (str, Path)) else paths):
        for line, row in read_judgment_file(path):
            key = (row["benchmark"], row["id"], row["judge"], row["model_a"], row["model_b"], row["order"],
                   row.get("probe"))
            where = f"{path}:{line}"
            if key in seen:
                raise DataError(f"{where}: row: a second judgment of id {row['id']!r} by {row['judge']} in order "
                                f"{row['order']} (the first is at {seen[key]}); one row per (id, judge, order)")
            seen[key] = where
            rows.append(row)
    return rows


def read_judgment_file(path: Path) -> list[tuple[int, Row]]:
    """(line, row) pairs of one file of judgments, its format told by the first row's keys."""
    raw, kind = _rows_and_format(path, JUDGMENT_FORMATS, "judgments", "not a known judgment format (evalkit "
                                 "judgments.jsonl, AlpacaEval annotations, JudgeBench judge outputs, MT-Bench "
                                 "*_pair.jsonl); see docs/judges.md")
    reader = {"evalkit": _evalkit_rows, "alpaca_eval": _alpaca_rows, "judgebench": _judgebench_rows,
              "mt_bench": _mt_bench_rows}[kind]
    out: list[tuple[int, Row]] = []
    for index, (line, value) in enumerate(raw):
        out.extend((line, row) for row in reader(path, line, index, value))
    return out


def _evalkit_rows(path: Path, line: int, index: int, value: Any) -> list[Row]:
    row = _validated(EvalkitJudgment, path, line, value)
    pairwise = row.kind == "pairwise"
    allowed = ("A", "B", "TIE") if pairwise else ("PASS", "FAIL")
    if row.verdict is not None and row.verdict not in allowed:
        raise _bad(path, line, "verdict", f"a {row.kind} verdict is one of {', '.join(allowed)}, not {row.verdict!r}")
    if row.valid != (row.verdict is not None):
        raise _bad(path, line, "valid", f"valid is {str(row.valid).lower()} but the verdict is "
                                        f"{'missing' if row.verdict is None else repr(row.verdict)}")
    if pairwise:
        if row.model_b is None:
            raise _bad(path, line, "model_b", "a pairwise judgment names both models")
        names = (row.model_a, row.model_b, "tie")
        if row.winner is not None and row.winner not in names:
            raise _bad(path, line, "winner", f"{row.winner!r} is neither model_a ({row.model_a!r}), model_b "
                                             f"({row.model_b!r}) nor tie")
        expected = winner_of(row.verdict, row.order, row.model_a, row.model_b)
        if row.winner != expected:
            raise _bad(path, line, "winner", f"{row.winner!r} contradicts verdict {row.verdict!r} in order "
                                             f"{row.order} (it makes the winner {expected!r})")
        if row.gold is not None and row.gold not in names:
            raise _bad(path, line, "gold", f"{row.gold!r}: gold names the better model (model_a or model_b's "
                                           "name) or tie; position letters are ambiguous once orders swap")
        score = score_of(row.winner, row.model_a)
    else:
        if row.winner is not None:
            raise _bad(path, line, "winner", "a pointwise judgment has no winner (null)")
        if row.gold is not None and row.gold not in ("PASS", "FAIL"):
            raise _bad(path, line, "gold", f"a pointwise gold label is PASS or FAIL, not {row.gold!r}")
        score = None if row.verdict is None else float(row.verdict == "PASS")
    if row.score is not None and score is not None:
        # a soft score (AlpacaEval's weighted preference) may be any value on the verdict's side of 0.5
        verdict_side = (score > 0.5) - (score < 0.5)
        if (row.score > 0.5) - (row.score < 0.5) != verdict_side:
            raise _bad(path, line, "score", f"{row.score} contradicts the verdict (which scores model_a {score})")
        score = float(row.score)
    out = row.model_dump()
    out["score"] = score
    for side in ("md_a", "md_b"):
        if out[side] is None:
            out.pop(side)
    if out["source"] is None:
        out.pop("source")
    return [out]


def _alpaca_rows(path: Path, line: int, index: int, value: Any) -> list[Row]:
    note = _validated(AlpacaAnnotation, path, line, value)
    pref = note.preference
    if pref is not None and isinstance(pref, float) and math.isnan(pref):
        pref = None
    if pref is not None and not (pref == 0 or 1 <= pref <= 2):
        raise _bad(path, line, "preference", f"{pref} is outside AlpacaEval's range (1 to 2, or 0 for a draw)")
    score = None if pref is None else 0.5 if pref == 0 else float(pref) - 1
    verdict = None if score is None else "TIE" if score == 0.5 else "A" if score > 0.5 else "B"
    model_a, model_b = note.generator_2, note.generator_1
    return [_row("alpaca_eval", str(index), note.annotator, model_a, model_b, "ab", verdict, score=score,
                 response_a=note.output_2, response_b=note.output_1,
                 problem=None if verdict else "the annotator gave no preference")]


JUDGEBENCH_CATEGORIES = (("mmlu-pro", "knowledge"), ("livebench-reasoning", "reasoning"),
                         ("livebench-math", "math"), ("livecodebench", "coding"))


def judgebench_category(source: str) -> str:
    """JudgeBench's leaderboard category of a pair's ``source`` (knowledge, reasoning, math, coding)."""
    return next((cat for prefix, cat in JUDGEBENCH_CATEGORIES if source.startswith(prefix)), source)


_DECISION = {"A>B": "A", "B>A": "B", "A=B": "TIE"}
_JUDGE_MODEL = re.compile(r"judge_model=([^,]+?)(?:\.jsonl)?$")


def _judgebench_rows(path: Path, line: int, index: int, value: Any) -> list[Row]:
    out = _validated(JudgeBenchOutput, path, line, value)
    model = next((j.judgment.get("judge_model") for j in out.judgments if j and j.judgment
                  and isinstance(j.judgment.get("judge_model"), str)), None)
    if model is None:
        found = _JUDGE_MODEL.search(path.name)
        model = found.group(1) if found else None
    judge = f"{out.judge_name}:{model}" if model else out.judge_name
    gold = "response_A" if out.label == "A>B" else "response_B"
    rows = []
    for order, judgment in zip(("ab", "ba"), out.judgments):
        decision = judgment.decision if judgment is not None else None
        verdict = _DECISION.get(decision) if decision else None
        rows.append(_row("judgebench", out.pair_id, judge, "response_A", "response_B", order, verdict,
                         response_a=out.response_A, response_b=out.response_B, gold=gold,
                         category=judgebench_category(out.source), source=out.source,
                         problem=None if verdict else "no decision" if judgment is not None else "no judgment"))
    return rows


def _mt_bench_rows(path: Path, line: int, index: int, value: Any) -> list[Row]:
    note = _validated(MTBenchPairJudgment, path, line, value)
    item = str(note.question_id) + ("-turn2" if note.turn == 2 else "")
    rows = []
    for order, winner in (("ab", note.g1_winner), ("ba", note.g2_winner)):
        first = "model_1" if order == "ab" else "model_2"  # the model shown as Assistant A
        verdict = None if winner == "error" else "TIE" if winner == "tie" else "A" if winner == first else "B"
        rows.append(_row("mt_bench", item, note.judge[0], note.model_1, note.model_2, order, verdict,
                         template=note.judge[1], problem=None if verdict else "the judge's output had no verdict"))
    return rows


def _row(benchmark: str, item: str, judge: str, model_a: str, model_b: str, order: str, verdict: str | None,
         response_a: str | None = None, response_b: str | None = None, **extra: Any) -> Row:
    """A pairwise judgment row in evalkit's format."""
    winner = winner_of(verdict, order, model_a, model_b)
    row: Row = {"benchmark": benchmark, "id": item, "judge": judge, "kind": "pairwise", "model_a": model_a,
                "model_b": model_b, "order": order, "verdict": verdict, "winner": winner,
                "valid": verdict is not None, "rationale": None, "score": score_of(winner, model_a),
                "len_a": None if response_a is None else len(response_a),
                "len_b": None if response_b is None else len(response_b),
                "gold": None, "probe": None, "category": None, "retried": False, "problem": None, "template": None}
    if response_a is not None and response_b is not None:
        row["md_a"], row["md_b"] = markdown_counts(response_a), markdown_counts(response_b)
    row.update({k: v for k, v in extra.items() if v is not None or k not in row})
    return row


# ---------------------------------------------------------------------------------------------- pairs


def read_pair_file(path: Path) -> list[PairItem]:
    """Pairs to judge live, each format validated like the judgments."""
    raw, kind = _rows_and_format(path, PAIR_FORMATS, "pairs", "needs a prompt and two responses (prompt/response_a/"
                                 "response_b, input/output_1/output_2, a JudgeBench pair or an AlpacaEval annotation)")
    items = [_pair(kind, path, line, index, value) for index, (line, value) in enumerate(raw)]
    seen: dict[str, int] = {}
    for (line, _), item in zip(raw, items):
        if item.id in seen:
            raise _bad(path, line, "id", f"{item.id!r} is already the id of the pair at line {seen[item.id]}")
        seen[item.id] = line
    return items


def _auto_id(path: Path, index: int, prompt: str) -> str:
    return f"{path.stem}-{index}-{hashlib.sha256(prompt.encode()).hexdigest()[:8]}"


def _pair(kind: str, path: Path, line: int, index: int, value: Any) -> PairItem:
    if kind == "judgebench":
        jb = _validated(JudgeBenchOutput if isinstance(value, dict) and "judgments" in value else JudgeBenchPair,
                        path, line, value)
        return PairItem(id=jb.pair_id, prompt=jb.question, response_a=jb.response_A, response_b=jb.response_B,
                        model_a="response_A", model_b="response_B",
                        gold="response_A" if jb.label == "A>B" else "response_B",
                        category=judgebench_category(jb.source))
    if kind == "alpaca_eval":
        note = _validated(AlpacaAnnotation, path, line, value)
        a, b = note.generator_2, note.generator_1
        a, b = (f"{a}#1", f"{b}#2") if a == b else (a, b)
        return PairItem(id=_auto_id(path, index, note.instruction), prompt=note.instruction,
                        response_a=note.output_2, response_b=note.output_1, model_a=a, model_b=b)
    if kind == "llmbar":
        bar = _validated(LLMBarPair, path, line, value)
        return PairItem(id=_auto_id(path, index, bar.input), prompt=bar.input, response_a=bar.output_1,
                        response_b=bar.output_2, model_a="output_1", model_b="output_2",
                        gold="output_1" if bar.label == 1 else "output_2")
    pair = _validated(EvalkitPair, path, line, value)
    a, b = pair.model_a or "output_1", pair.model_b or "output_2"
    a, b = (f"{a}#1", f"{b}#2") if a == b else (a, b)
    gold = None
    if pair.gold is not None:
        gold = {"1": a, "2": b, "A": a, "B": b, "TIE": "tie"}.get(str(pair.gold).upper(), str(pair.gold))
        if gold not in (a, b, "tie"):
            raise _bad(path, line, "gold", f"{pair.gold!r}: write 1, 2, A, B, tie or one of the two model names")
    return PairItem(id=str(pair.id) if pair.id is not None else _auto_id(path, index, pair.prompt),
                    prompt=pair.prompt, response_a=pair.response_a, response_b=pair.response_b, model_a=a,
                    model_b=b, gold=gold, reference=pair.reference, category=pair.category)
