"""Tool calling, scored as BFCL's AST checker does (Berkeley Function Calling Leaderboard, single turn).

The model gets the item's question and function documents — as OpenAI ``tools`` (``format: native``) or
in a system prompt asking for ``[f(a=1)]`` (``format: prompt``, BFCL's prompting mode for models without
native tool calling) — and its calls are checked against the possible answers
(``evalkit/scoring/tool_checker.py``). A sample's category comes from its ``category`` field
(``simple_python``, ``multiple``, ``parallel``, ``live_simple``, ``irrelevance``, …): irrelevance items
are right when no call is made, relevance items when one is. results.json adds ``bfcl_summary``: the
non-live AST average (unweighted over simple, multiple, parallel and parallel-multiple, simple itself the
unweighted mean of Python, Java and JavaScript) and the live AST average (weighted by item counts), as
BFCL's leaderboard computes them.

``options`` (``ToolCallOptions``): ``format`` (native | prompt), ``possible_answers`` (a path under
``--data-dir`` with ``{category}``), ``group_by`` (default ``category``).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar, Literal

from evalkit.data.bfcl import load_possible_answers
from evalkit.errors import DataError
from evalkit.kinds.base import KindBase, KindContext
from evalkit.scoring.tool_checker import Call, check, language_of
from evalkit.scoring.tool_schema import openai_tools, parse_call_list, prompt_for_functions, tool_name
from evalkit.specs.benchmark import BenchmarkSpec
from evalkit.specs.options import KindOptions
from evalkit.types import (
    GenerateRequest,
    GenerateResult,
    MetricInfo,
    Request,
    Result,
    Sample,
    Scored,
    ToolCall,
)

NO_CALL_CATEGORIES = ("irrelevance", "live_irrelevance")
ANY_CALL_CATEGORIES = ("live_relevance",)
NON_LIVE_SIMPLE = ("simple_python", "simple_java", "simple_javascript")
NON_LIVE_AST = ("multiple", "parallel", "parallel_multiple")
LIVE_AST = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")


class ToolCallOptions(KindOptions):
    format: Literal["native", "prompt"] = "native"
    possible_answers: str | None = "bfcl/possible_answer/BFCL_v4_{category}.json"
    group_by: str | None = "category"


class ToolCallKind(KindBase):
    Options: ClassVar[type[ToolCallOptions]] = ToolCallOptions
    options: ToolCallOptions

    def __init__(self, spec: BenchmarkSpec, context: KindContext | None = None,
                 options: ToolCallOptions | None = None) -> None:
        super().__init__(spec, context, options)
        self.data_dir = self.context.data_dir

    def metrics(self, mode: str) -> list[MetricInfo]:
        return [MetricInfo("accuracy")]

    # -- samples: the possible answers become each sample's target ------------------------------------
    def select_samples(self, samples: list[Sample]) -> list[Sample]:
        categories = sorted({_category(s, self.spec.name) for s in samples})
        answers: dict[str, list[dict[str, Any]]] = {}
        for category in categories:
            if category in NO_CALL_CATEGORIES + ANY_CALL_CATEGORIES:
                continue
            answers.update(self._answers_for(category))
        attached = []
        for sample in samples:
            category = _category(sample, self.spec.name)
            if category in NO_CALL_CATEGORIES + ANY_CALL_CATEGORIES:
                attached.append(dataclasses.replace(sample, target=None))
                continue
            truth = answers.get(sample.id)
            if truth is None:
                raise DataError(f"benchmark {self.spec.name}: no possible answer for item {sample.id!r} "
                                f"(category {category})")
            attached.append(dataclasses.replace(sample, target=truth))
        return attached

    def _answers_for(self, category: str) -> dict[str, list[dict[str, Any]]]:
        if self.options.possible_answers is None or self.data_dir is None:
            raise DataError(f"benchmark {self.spec.name}: scoring {category} needs BFCL's possible answers; "
                            "pass --data-dir with bfcl/possible_answer/ (see docs/tool-calling.md)")
        return load_possible_answers(self.data_dir / self.options.possible_answers.format(category=category))

    # -- requests ---------------------------------------------------------------------------------------
    def requests(self, sample: Sample, mode: str) -> list[Request]:
        functions = _functions(sample, self.spec.name)
        messages = tuple((str(m["role"]), str(m["content"])) for m in _first_turn(sample, self.spec.name))
        gen = self.spec.generation
        common: dict[str, Any] = dict(max_tokens=gen.max_tokens, temperature=gen.temperature, top_p=gen.top_p,
                                      stop=tuple(gen.stop))
        if self.options.format == "prompt":
            system = (("system", prompt_for_functions(functions)),)
            return [GenerateRequest(messages=system + messages, **common)]
        tools = openai_tools(functions, language_of(_category(sample, self.spec.name)))
        return [GenerateRequest(messages=messages, tools=json.dumps(tools, sort_keys=True), tool_choice="auto",
                                **common)]

    # -- scoring ----------------------------------------------------------------------------------------
    def score(self, samples: list[Sample], results: list[list[Result]], mode: str) -> list[Scored]:
        scored = []
        for sample, (result,) in zip(samples, results):
            assert isinstance(result, GenerateResult)
            functions = _functions(sample, self.spec.name)
            calls = self._decode(result, functions)
            category = _category(sample, self.spec.name)
            if category in NO_CALL_CATEGORIES:
                right, reason = not calls, None if not calls else "made a call where none was wanted"
            elif category in ANY_CALL_CATEGORIES:
                right, reason = bool(calls), None if calls else "made no call where one was wanted"
            elif calls is None:
                right, reason = False, "no valid function call in the reply"
            else:
                verdict = check(category, functions, calls, sample.target)
                right, reason = verdict.valid, verdict.reason
            scored.append(Scored(sample=sample, prompt="", output=result.text, scores={"accuracy": float(right)},
                                 extracted=calls, extra={"category": category, "tool_calls": [
                                     dataclasses.asdict(c) for c in result.tool_calls], "check": reason}))
        return scored

    def _decode(self, result: GenerateResult, functions: list[dict[str, Any]]) -> list[Call] | None:
        """The calls a reply made, names in the functions' own spelling; None when it made none that decode."""
        if self.options.format == "prompt" and not result.tool_calls:
            return parse_call_list(result.text)
        return decode_tool_calls(result.tool_calls, functions)

    def summarize(self, scored: list[Scored], mode: str) -> dict[str, Any]:
        return {"bfcl_summary": bfcl_summary(scored)}


def decode_tool_calls(calls: tuple[ToolCall, ...], functions: list[dict[str, Any]]) -> list[Call] | None:
    """Native tool calls → {name: arguments}; a name sent as ``a_b`` for ``a.b`` is read back as ``a.b``.
    None when there are no calls or one's arguments are not a JSON object (BFCL: a decoding failure)."""
    if not calls:
        return None
    spelled = {tool_name(str(f["name"])): str(f["name"]) for f in functions}
    decoded: list[Call] = []
    for call in calls:
        try:
            arguments = json.loads(call.arguments) if call.arguments.strip() else {}
        except json.JSONDecodeError:
            return None
        if not isinstance(arguments, dict):
            return None
        name = call.name if call.name in spelled.values() else spelled.get(call.name, call.name)
        decoded.append({name: arguments})
    return decoded


def bfcl_summary(scored: list[Scored]) -> dict[str, Any]:
    """Per-category accuracy and BFCL's non-live (unweighted) and live (count-weighted) AST averages; an
    average whose categories are not all present is None, with the missing ones named."""
    per: dict[str, list[float]] = {}
    for item in scored:
        if item.error is None:
            per.setdefault(str(item.extra["category"]), []).append(float(item.scores["accuracy"] or 0.0))
    accuracy = {name: sum(values) / len(values) for name, values in sorted(per.items())}
    counts = {name: len(values) for name, values in per.items()}

    def mean_of(names: tuple[str, ...]) -> float | None:
        return sum(accuracy[n] for n in names) / len(names) if all(n in accuracy for n in names) else None

    simple = mean_of(NON_LIVE_SIMPLE)
    parts = [simple, *(accuracy.get(n) for n in NON_LIVE_AST)]
    non_live = sum(p for p in parts if p is not None) / len(parts) if all(p is not None for p in parts) else None
    live = (sum(accuracy[n] * counts[n] for n in LIVE_AST) / sum(counts[n] for n in LIVE_AST)
            if all(n in accuracy for n in LIVE_AST) else None)
    wanted = NON_LIVE_SIMPLE + NON_LIVE_AST + LIVE_AST + NO_CALL_CATEGORIES + ANY_CALL_CATEGORIES
    return {"categories": accuracy, "n": counts, "simple_ast_non_live": simple, "non_live_ast": non_live,
            "live_ast": live, "irrelevance": accuracy.get("irrelevance"),
            "live_irrelevance": accuracy.get("live_irrelevance"), "live_relevance": accuracy.get("live_relevance"),
            "missing_categories": [n for n in wanted if n not in accuracy]}


def _category(sample: Sample, benchmark: str) -> str:
    category = sample.metadata.get("category")
    if not isinstance(category, str) or not category:
        raise DataError(f"benchmark {benchmark}: item {sample.id!r} has no category field")
    return category


def _functions(sample: Sample, benchmark: str) -> list[dict[str, Any]]:
    functions = sample.metadata.get("functions")
    if not isinstance(functions, list) or not all(isinstance(f, dict) and "name" in f for f in functions):
        raise DataError(f"benchmark {benchmark}: item {sample.id!r}: functions must be a list of function documents")
    return functions


def _first_turn(sample: Sample, benchmark: str) -> list[dict[str, Any]]:
    turns = sample.input
    if (not isinstance(turns, list) or not turns or not isinstance(turns[0], list)
            or not all(isinstance(m, dict) and "role" in m and "content" in m for m in turns[0])):
        raise DataError(f"benchmark {benchmark}: item {sample.id!r}: question must be a list of turns of messages")
    return turns[0]
