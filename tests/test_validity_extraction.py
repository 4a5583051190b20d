"""Answer extraction as the bundled specs declare it, on phrasings real models produce."""

from __future__ import annotations

import pytest

from evalkit.kinds.base import create_kind
from evalkit.specs.registry import get_spec
from evalkit.types import GenerateResult, Sample


def _scores(benchmark: str, text: str, target: object, choices: tuple[str, ...] | None = None) -> dict:
    kind = create_kind(get_spec(benchmark))
    sample = Sample(id="x", input="q", target=target, choices=choices)
    (scored,) = kind.score([sample], [[GenerateResult(text=text)]], "generate")
    scores = dict(scored.scores)
    assert scores.pop("truncated") == 0.0  # a finished reply (tests/test_reasoning.py covers cut-off ones)
    return scores


@pytest.mark.parametrize(("text", "strict", "flexible"), [
    ("The answer is 42.", 1.0, 1.0),
    ("#### 42", 0.0, 1.0),
    ("**42**", 0.0, 1.0),
    ("42 apples", 0.0, 1.0),
    ("She has 40 + 2 = 42 apples. The answer is 42.", 1.0, 1.0),
    ("The answer is 42. Q: next question 7", 1.0, 0.0),  # strict takes the first statement
    ("The answer is $42.00.", 0.0, 1.0),  # lm-eval's strict class has no "$"; flexible keeps "$42.00."
    ("The answer is 41.", 0.0, 0.0),
])
def test_gsm8k_cot(text, strict, flexible):
    assert _scores("gsm8k_cot", text, "42") == {"exact_match_strict": strict, "exact_match_flexible": flexible}


@pytest.mark.parametrize(("text", "target", "strict", "flexible"), [
    ("3 + 39 = 42\n#### 42", "42", 1.0, 1.0),
    ("#### 1,042", "1042", 1.0, 1.0),
    ("The total is **1042** dollars.", "1042", 0.0, 1.0),
    ("#### 42\nWait, 43.", "42", 1.0, 0.0),
])
def test_gsm8k(text, target, strict, flexible):
    assert _scores("gsm8k", text, target) == {"exact_match_strict": strict, "exact_match_flexible": flexible}


@pytest.mark.parametrize(("text", "target", "right"), [
    ("Let's think step by step.\nA is true. So the answer is (B).", "(B)", 1.0),
    ("So the answer is **(B)**.", "(B)", 1.0),
    ("So the answer is valid.", "valid", 1.0),
    ("So the answer is invalid.", "valid", 0.0),
    ("So the answer is ] ] >.", "] ] >", 1.0),
    ("So the answer is Monsters, Inc.", "Monsters, Inc", 1.0),
    ("So the answer is -11520.", "-11520", 1.0),
    ("The Answer Is: Yes", "Yes", 1.0),
    ("So the answer is (B).\n\nQ: another one. So the answer is (C).", "(B)", 1.0),  # the first answer counts
    ("I think it is (B).", "(B)", 0.0),  # no "the answer is": not extracted
])
def test_bbh(text, target, right):
    assert _scores("bbh", text, target) == {"exact_match": right}


@pytest.mark.parametrize(("text", "target", "right"), [
    ("so $x = \\boxed{\\dfrac{1}{2}}$", "\\frac{1}{2}", 1.0),
    ("\\boxed{0.5}", "\\frac12", 1.0),
    ("The final answer is $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}$.", "\\left( 3, \\frac{\\pi}{2} \\right)", 1.0),
    ("\\boxed{30^\\circ}", "30", 1.0),
    ("\\boxed{5.4\\text{ cents}}", "5.4 \\text{ cents}", 1.0),
    ("first \\boxed{3} then \\boxed{4}", "4", 0.0),  # math-verify reads several boxed answers as the set {3, 4}
    ("The answer is 1/2.", "\\frac{1}{2}", 1.0),  # math-verify also reads an unboxed final expression
    ("\\boxed{0.333}", "\\frac{1}{3}", 0.0),
])
def test_math500(text, target, right):
    assert _scores("math500", text, target) == {"exact_match": right}


@pytest.mark.parametrize(("text", "chosen"), [
    ("B", 1), ("(B)", 1), ("The answer is (C).", 2), ("**Answer:** D", 3), ("A. Paris", 0), ("I cannot tell.", None),
])
def test_mmlu_letters(text, chosen):
    scores = _scores("mmlu", text, 1, ("w", "x", "y", "z"))
    assert scores == {"acc": float(chosen == 1), "invalid": float(chosen is None)}
