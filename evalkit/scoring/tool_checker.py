"""Is a model's function call right? BFCL's AST-checker semantics (Berkeley Function Calling Leaderboard).

A call is right when, against the function's schema and the item's possible answers:

* the function name matches (for calls made through a native tools API, where "." is not allowed in a
  name, the expected name is compared with its dots written as underscores, as BFCL does for such models);
* every required parameter is present, and no parameter is outside the schema or the possible answers;
* each value has the declared type (Python: an int is accepted for a float; a tuple is a list; Java and
  JavaScript values arrive as source text and are read by the declared type first, see ``tool_literals``),
  unless the possible answers show the parameter takes a variable's name (their type differs from the
  declared one), in which case a value of the possible answers' type is compared as is;
* each value is among the possible answers: strings after ``standardize`` (case, spaces and ``,./-_*^``
  ignored, single quotes read as double), lists element-wise after the same, dicts key by key (and lists
  of dicts dict by dict, in order), anything else by equality;
* every parameter the possible answers list is given, unless its list holds ``""`` (may be omitted).

Categories: *simple* wants exactly one call; *multiple* one call, of the right one of several functions;
*parallel* (and parallel_multiple) as many calls as the answers, matched in any order, each call used once.
Irrelevance is right when no call is made, relevance when one is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from evalkit.scoring.tool_literals import JAVA_TYPES, JS_TYPES, java_value, js_value

Language = Literal["python", "java", "javascript"]
Call = Mapping[str, Mapping[str, Any]]  # {function name: {parameter: value}}, one key

PYTHON_TYPES: dict[str, type] = {"string": str, "integer": int, "float": float, "boolean": bool, "array": list,
                                 "tuple": list, "dict": dict, "any": str}
_ELEMENT_CHECKED = ("array", "tuple")
_STANDARDIZE = re.compile(r"[ ,./\-_*^]")


@dataclass(frozen=True)
class Verdict:
    """Whether the calls are right; when not, BFCL-style error kind and a short reason."""

    valid: bool
    error_type: str | None = None
    reason: str | None = None


OK = Verdict(True)


def standardize(text: str) -> str:
    return _STANDARDIZE.sub("", text).lower().replace("'", '"')


def language_of(category: str) -> Language:
    if category.endswith("java"):
        return "java"
    return "javascript" if category.endswith("javascript") else "python"


def check(category: str, functions: Sequence[Mapping[str, Any]], calls: Sequence[Call],
          answers: Sequence[Call], *, underscore_names: bool = False) -> Verdict:
    """The verdict on ``calls`` for an item of an AST category (simple, multiple, parallel, live_…)."""
    language = language_of(category)
    if "parallel" in category:
        return _parallel(functions, calls, answers, language, underscore_names)
    if len(calls) != len(answers) or len(calls) != 1:
        return Verdict(False, "wrong_count", f"expected {len(answers)} call(s), got {len(calls)}")
    expected_name = next(iter(answers[0]))
    description = _describe(functions, expected_name) if "multiple" in category else functions[0]
    return check_call(description, calls[0], answers[0], language, underscore_names)


def _describe(functions: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any]:
    for function in functions:
        if function["name"] == name:
            return function
    raise ValueError(f"possible answer names {name!r}, which no function of the item defines")


def _parallel(functions: Sequence[Mapping[str, Any]], calls: Sequence[Call], answers: Sequence[Call],
              language: Language, underscore_names: bool) -> Verdict:
    if len(calls) != len(answers):
        return Verdict(False, "wrong_count", f"expected {len(answers)} calls, got {len(calls)}")
    used: set[int] = set()
    for number, answer in enumerate(answers):
        description = _describe(functions, next(iter(answer)))
        match = next((i for i, call in enumerate(calls)
                      if i not in used and check_call(description, call, answer, language, underscore_names).valid),
                     None)
        if match is None:
            return Verdict(False, "no_match", f"no call matches expected call {number}")
        used.add(match)
    return OK


def _expected_name(name: str, underscore_names: bool) -> str:
    return name.replace(".", "_") if underscore_names else name


def check_call(description: Mapping[str, Any], call: Call, answer: Call, language: Language,
               underscore_names: bool = False) -> Verdict:
    """One call against one function's schema and its possible answers ({name: {param: [allowed]}})."""
    allowed: Mapping[str, list[Any]] = next(iter(answer.values()))
    name = _expected_name(str(description["name"]), underscore_names)
    if name not in call:
        return Verdict(False, "wrong_func_name", f"expected a call of {name!r}, got {', '.join(call) or 'none'}")
    given = call[name]
    schema = description["parameters"]
    properties: Mapping[str, Any] = schema.get("properties", {})
    for required in schema.get("required", []):
        if required not in given:
            return Verdict(False, "missing_required", f"missing required parameter {required!r}")
    for param, value in given.items():
        if param not in properties or param not in allowed:
            return Verdict(False, "unexpected_param", f"unexpected parameter {param!r}")
        verdict = _check_value(param, value, properties[param], allowed[param], language)
        if not verdict.valid:
            return verdict
    for param, values in allowed.items():
        if param not in given and "" not in values:
            return Verdict(False, "missing_optional", f"parameter {param!r} is not marked optional but is missing")
    return OK


def _check_value(param: str, value: Any, details: Mapping[str, Any], allowed: list[Any], language: Language) -> Verdict:
    declared = str(details.get("type"))
    element = details.get("items", {}).get("type") if isinstance(details.get("items"), Mapping) else None
    if language == "python":
        expected: type | None = PYTHON_TYPES.get(declared)
        element_type = PYTHON_TYPES.get(str(element)) if declared in _ELEMENT_CHECKED and element else None
    else:
        table = JAVA_TYPES if language == "java" else JS_TYPES
        expected = table.get(declared)
        if not isinstance(value, str):
            return Verdict(False, f"type_error:{language}", f"{param!r} must be given as source text (a string)")
        value = (java_value if language == "java" else js_value)(value, declared, element)
        element_type = table.get(str(element)) if element and declared in ("Array", "ArrayList", "array") else None
    if expected is None:
        return Verdict(False, "type_error:unknown", f"{param!r} has a type the checker does not know: {declared!r}")
    if declared == "tuple" and isinstance(value, tuple):
        value = list(value)
    if language == "python" and declared == "float" and type(value) is int:
        value = float(value)
    answer_type = next((type(a) for a in allowed if a != ""), None)
    # possible answers of another type than the declared one name a variable (e.g. "mapController")
    is_variable = answer_type is not None and answer_type is not expected
    if type(value) is expected and (element_type is None or (isinstance(value, list)
                                                              and _elements_typed(value, allowed, element_type))):
        pass
    elif answer_type is not None and type(value) is answer_type:
        is_variable = True
    else:
        kind = "type_error:nested" if type(value) is expected else "type_error:simple"
        return Verdict(False, kind, f"{param!r} should be {declared}, got {type(value).__name__}")
    if not is_variable:
        if expected is dict:
            return _dict_in(param, value, allowed)
        if expected is list and element_type is dict:
            return _dict_list_in(param, value, allowed)
        if expected is str:
            return _string_in(param, value, allowed)
        if expected is list:
            return _list_in(param, value, allowed)
    if value not in allowed:
        return Verdict(False, "value_error", f"{param!r}: {value!r} is not among the possible answers")
    return OK


def _elements_typed(value: list[Any], allowed: list[Any], element_type: type) -> bool:
    """Each element has the element type (or the type of that answer's own elements), for at least one
    possible answer; an answer that is not a list (such as "") does not constrain the elements."""
    for answer in allowed:
        if not isinstance(answer, list):
            return True
        answer_type = next((type(a) for a in answer if a != ""), None)
        if all(type(item) is element_type or (answer_type is not None and type(item) is answer_type)
               for item in value):
            return True
    return False


def _std(value: Any) -> Any:
    return standardize(value) if isinstance(value, str) else value


def _string_in(param: str, value: str, allowed: list[Any]) -> Verdict:
    if standardize(value) in {standardize(a) for a in allowed if isinstance(a, str)}:
        return OK
    return Verdict(False, "value_error:string", f"{param!r}: {value!r} is not among the possible answers")


def _list_in(param: str, value: list[Any], allowed: list[Any]) -> Verdict:
    # An answer "" (may be omitted) reads as the empty list here, as in BFCL's checker.
    candidates = [[_std(item) for item in answer] if isinstance(answer, list) else [] for answer in allowed]
    if [_std(item) for item in value] in candidates:
        return OK
    return Verdict(False, "value_error:list", f"{param!r}: {value!r} is not among the possible answers")


def _dict_matches(value: Mapping[str, Any], answer: Mapping[str, list[Any]]) -> bool:
    for key, item in value.items():
        if key not in answer or _std(item) not in [_std(a) for a in answer[key]]:
            return False
    return all(key in value or "" in values for key, values in answer.items())


def _dict_in(param: str, value: Mapping[str, Any], allowed: list[Any]) -> Verdict:
    if any(isinstance(answer, Mapping) and _dict_matches(value, answer) for answer in allowed):
        return OK
    return Verdict(False, "value_error:dict", f"{param!r}: the dict is not among the possible answers")


def _dict_list_in(param: str, value: list[Any], allowed: list[Any]) -> Verdict:
    for answer in allowed:
        if isinstance(answer, list) and len(answer) == len(value) and all(
                isinstance(item, Mapping) and isinstance(want, Mapping) and _dict_matches(item, want)
                for item, want in zip(value, answer)):
            return OK
    return Verdict(False, "value_error:list_dict", f"{param!r}: the list of dicts is not among the possible answers")
