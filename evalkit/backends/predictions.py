"""``--model predictions:FILE``: score answers someone already has, without calling any model.

The file holds one prediction per sample, matched by sample id (and by benchmark when a row names
one, so one file can cover several benchmarks whose ids collide):

    {"id": "gsm8k-0", "output": "... #### 18"}                       generate mode
    {"id": "mmlu-abstract_algebra_test-3", "choice_logliks": [-4.1, -0.3, -2.2, -5.0]}   log-likelihood mode
    {"benchmark": "gsm8k", "id": "gsm8k-0", "output": "..."}          disambiguated
    {"id": "simple_python_0", "tool_calls": [{"name": "f", "arguments": "{\"a\": 1}"}]}   tool calls

JSONL, a JSON list, or CSV (columns ``id``, ``output``, optionally ``benchmark`` and
``choice_logliks`` as a JSON list) are accepted. An optional ``finish_reason`` ("length" for a reply
cut at the token limit) is passed on, so a truncated reply stays truncated. Other fields are ignored, so
a previous run's ``samples.jsonl`` can be scored again as it is. ``output`` may also be a list (one text per
replica, for pass@k).

It is an ordinary backend (``is_lookup``): each request carries the sample that asked it
(``Request.ref``) and is answered from that sample's row. It answers in one batch, checking the whole
batch first, so a missing id stops the run before anything is answered or scored, naming the first
one and how many are missing per benchmark.
"""

from __future__ import annotations

import glob
import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from evalkit.config import BackendOptions
from evalkit.data.loading import load_local
from evalkit.errors import BackendError, ConfigError, DataError
from evalkit.specs.benchmark import LocalSource
from evalkit.types import (
    GenerateRequest,
    GenerateResult,
    LoglikelihoodResult,
    Request,
    RequestRef,
    Result,
    ToolCall,
)


@dataclass(frozen=True)
class Prediction:
    """One row of the predictions file."""

    output: tuple[str, ...] | None
    choice_logliks: tuple[float, ...] | None
    where: str  # "FILE:LINE", for error messages
    tool_calls: tuple[ToolCall, ...] | None = None
    finish_reason: str = "stop"


def _parse_logliks(value: Any, where: str) -> tuple[float, ...] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise DataError(f"{where}: choice_logliks must be a JSON list of numbers, got {value[:40]!r}") from None
    if not isinstance(value, list) or not value:
        raise DataError(f"{where}: choice_logliks must be a non-empty list of numbers")
    try:
        numbers = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise DataError(f"{where}: choice_logliks must hold only numbers") from None
    if any(math.isnan(n) for n in numbers):
        raise DataError(f"{where}: choice_logliks holds NaN")
    return numbers


def _parse_output(value: Any, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise DataError(f"{where}: output must be a string or a list of strings")


def _parse_tool_calls(value: Any, where: str) -> tuple[ToolCall, ...] | None:
    """``[{"name", "arguments"}]``; arguments a JSON string (as the OpenAI API returns it) or an object."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise DataError(f"{where}: tool_calls must be a list of {{\"name\", \"arguments\"}}")
    calls = []
    for number, call in enumerate(value):
        if not isinstance(call, dict) or not isinstance(call.get("name"), str) or not call["name"]:
            raise DataError(f"{where}: tool_calls[{number}] needs a \"name\" string")
        arguments = call.get("arguments", {})
        if isinstance(arguments, dict):
            arguments = json.dumps(arguments)
        if not isinstance(arguments, str):
            raise DataError(f"{where}: tool_calls[{number}].arguments must be a JSON string or an object")
        calls.append(ToolCall(name=call["name"], arguments=arguments))
    return tuple(calls)


def _rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(location, row) for each record of a .csv, .json (a list) or JSONL file, via the data loader."""
    suffix = path.suffix.lower()
    fmt: Literal["csv", "json", "jsonl"] = "csv" if suffix == ".csv" else "json" if suffix == ".json" else "jsonl"
    first_line = 2 if fmt == "csv" else 1  # the CSV header is line 1
    for row in load_local(LocalSource(files=glob.escape(path.name), format=fmt), path.parent):
        yield f"{path}:{row.pop('_index') + first_line}", row


def load_predictions(path: Path) -> dict[tuple[str | None, str], Prediction]:
    """(benchmark or None, id) → Prediction. Rows with neither output nor choice_logliks are skipped
    (an errored sample of an earlier run has neither)."""
    table: dict[tuple[str | None, str], Prediction] = {}
    for where, row in _rows(path):
        if row.get("id") in (None, ""):
            raise DataError(f"{where}: a prediction needs an \"id\" (the sample id, as in samples.jsonl)")
        finish = row.get("finish_reason") or "stop"
        if not isinstance(finish, str):
            raise DataError(f"{where}: finish_reason must be a string such as \"stop\" or \"length\"")
        prediction = Prediction(_parse_output(row.get("output"), where),
                                _parse_logliks(row.get("choice_logliks"), where), where,
                                _parse_tool_calls(row.get("tool_calls"), where), finish)
        if prediction.output is None and prediction.choice_logliks is None and prediction.tool_calls is None:
            continue
        key = (row.get("benchmark") or None, str(row["id"]))
        if key in table:
            raise DataError(f"{where}: duplicate prediction for id {key[1]!r} (first at {table[key].where}); "
                            "add a \"benchmark\" field to tell them apart")
        table[key] = prediction
    if not table:
        raise DataError(f"predictions file {path} holds no predictions (rows need \"id\" and \"output\" "
                        "or \"choice_logliks\")")
    return table


class PredictionsBackend:
    """A backend that looks answers up instead of computing them (see the module docstring)."""

    is_batched = True  # the whole batch is checked before any answer
    is_lookup = True
    supports_loglikelihood = True
    billing_model = None  # no per-token price

    def __init__(self, path: Path) -> None:
        self.path = path
        self.table = load_predictions(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        self.name = f"predictions:{path}"
        self.identity = f"predictions:{digest}"
        # auto mode picks log-likelihood scoring when the file carries per-choice log-likelihoods
        self.prefers_loglikelihood = any(p.choice_logliks is not None for p in self.table.values())

    def lookup(self, benchmark: str, sample_id: str) -> Prediction | None:
        return self.table.get((benchmark, sample_id)) or self.table.get((None, sample_id))

    def check_coverage(self, requests: list[Request]) -> None:
        """Fail before answering anything when some sample has no prediction."""
        asked: dict[str, set[str]] = defaultdict(set)
        missing: dict[str, list[str]] = defaultdict(list)
        for request in requests:
            ref = _ref(request)
            if ref.sample_id not in asked[ref.benchmark]:
                asked[ref.benchmark].add(ref.sample_id)
                if self.lookup(ref.benchmark, ref.sample_id) is None:
                    missing[ref.benchmark].append(ref.sample_id)
        for benchmark, ids in missing.items():
            raise DataError(f"{self.path}: {len(ids)} of {len(asked[benchmark])} samples of {benchmark} have no "
                            f"prediction; first missing id: {ids[0]!r}")

    def answer(self, request: Request) -> Result:
        """The result a model would have returned for this request of its sample."""
        ref = _ref(request)
        prediction = self.lookup(ref.benchmark, ref.sample_id)
        if prediction is None:
            raise DataError(f"{self.path}: no prediction for {ref.benchmark} sample id {ref.sample_id!r}")
        if isinstance(request, GenerateRequest):
            return self._generated(prediction, ref)
        logliks = prediction.choice_logliks
        if logliks is None:
            raise DataError(f"{prediction.where}: {ref.benchmark} is scored by log-likelihood here but the prediction "
                            "has no choice_logliks; add them or pass --mode generate")
        if len(logliks) != ref.of:
            raise DataError(f"{prediction.where}: {len(logliks)} choice_logliks for {ref.benchmark} sample "
                            f"{ref.sample_id!r}, which has {ref.of} choices")
        return LoglikelihoodResult(logprob=logliks[ref.index], is_greedy=False)  # greediness is unknown

    def _generated(self, prediction: Prediction, ref: RequestRef) -> Result:
        outputs = prediction.output
        if outputs is None and prediction.tool_calls is not None:
            outputs = ("",)
        if outputs is None:
            raise DataError(f"{prediction.where}: {ref.benchmark} sample {ref.sample_id!r} is scored from generated "
                            "text but the prediction has no output (pass --mode loglikelihood for choice_logliks)")
        if len(outputs) != 1 and len(outputs) != ref.of:
            raise DataError(f"{prediction.where}: {len(outputs)} outputs for {ref.benchmark} sample "
                            f"{ref.sample_id!r}, which needs {ref.of}")
        calls = prediction.tool_calls or ()
        finish = "tool_calls" if calls and prediction.finish_reason == "stop" else prediction.finish_reason
        return GenerateResult(text=outputs[0] if len(outputs) == 1 else outputs[ref.index], finish_reason=finish,
                              tool_calls=calls)

    async def call(self, request: Request) -> Result:
        return self.answer(request)

    def call_batch(self, requests: list[Request]) -> Iterator[tuple[int, Result]]:
        """Every answer, after checking that every sample asked has a prediction."""
        self.check_coverage(requests)
        answers = [self.answer(r) for r in requests]  # every row is checked before the first answer is kept
        yield from enumerate(answers)

    def describe(self) -> dict[str, object]:
        return {"file": str(self.path), "n_predictions": len(self.table)}

    async def aclose(self) -> None:
        return None


def _ref(request: Request) -> RequestRef:
    if request.ref is None:
        raise BackendError("a predictions file answers only a benchmark's own requests (this one names no sample)")
    return request.ref


def create(name: str, options: BackendOptions) -> PredictionsBackend:
    path = Path(name).expanduser()
    if not path.is_file():
        raise ConfigError(f"--model predictions:{name}: no such file")
    return PredictionsBackend(path)
