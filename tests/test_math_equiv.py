"""MATH answer extraction (last \\boxed{}) and LaTeX-normalised equivalence, rule by rule."""

from __future__ import annotations

import json

import pytest

from evalkit.scoring.extract import extract_last_boxed
from evalkit.scoring.math_equiv import is_equiv, normalize, split_top_level, to_fraction


@pytest.mark.parametrize(("text", "want"), [
    ("so the answer is $\\boxed{\\dfrac{1}{2}}$.", "\\dfrac{1}{2}"),
    ("\\boxed{\\frac{\\sqrt{3}}{2}}", "\\frac{\\sqrt{3}}{2}"),  # nested braces
    ("first \\boxed{1}, then corrected: \\boxed{2}", "2"),  # the last box wins
    ("\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),  # escaped braces are content, not nesting
    ("$\\boxed 5$", "5"),
    ("\\fbox{7}", "7"),
    ("The final answer is 42.", None),
    ("\\boxed{\\frac{1}{2}", None),  # unclosed
])
def test_extract_last_boxed(text, want):
    assert extract_last_boxed(text) == want


@pytest.mark.parametrize(("pred", "gold"), [
    ("\\dfrac{1}{2}", "\\frac{1}{2}"),
    ("\\tfrac12", "\\frac{1}{2}"),
    ("\\frac12", "0.5"),  # exact decimal equals the fraction
    ("1/2", "\\frac{1}{2}"),
    ("-\\frac{3}{8}", "-0.375"),
    ("\\frac43", "\\frac{4}{3}"),
    ("\\frac 59", "\\frac{5}{9}"),
    ("\\frac{270}{7}", "\\frac{270}7\\text{ degrees}"),  # a unit in \text
    ("5.4", "5.4 \\text{ cents}"),
    ("10\\mbox{ inches}", "10"),
    ("5 cm", "5"),
    ("f(x) = 2x+1", "2x + 1"),
    ("30", "30^\\circ"),
    ("30^{\\circ}", "30^\\circ"),
    ("30°", "30"),
    ("(3,\\frac{\\pi}{2})", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("( 3 , \\frac{\\pi}{2} )", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("10080", "10,\\!080"),
    ("11111111100", "11,\\! 111,\\! 111,\\! 100"),
    ("32348", "\\$32,\\!348"),
    ("18.9", "\\$18.90"),
    ("5", "x=5"),
    ("[-2,7]", "x \\in [-2,7]"),
    ("Evelyn", "\\text{Evelyn}"),
    ("C", "\\text{(C)}"),
    ("(c)", "\\text{(C)}"),
    ("4210_5", "4210_{5}"),
    ("11\\sqrt{2}", "11\\sqrt2"),
    ("3\\sqrt{13}", "3 \\sqrt{13}"),
    ("\\frac{9}{5}", "1\\frac{4}{5}"),  # MATH writes mixed numbers this way
    ("-2, 1", "1,-2"),  # "all solutions": any order
    ("\\{-2, 1\\pm\\sqrt{5}\\}", "\\{1\\pm\\sqrt{5},-2\\}"),  # a set: any order
    ("(\\frac12, -13)", "\\left( \\frac{3}{2}, -13 \\right)".replace("3}{2", "1}{2")),
    ("\\begin{pmatrix} -\\frac13 \\\\ \\frac23 \\end{pmatrix}", "\\begin{pmatrix} -1/3 \\\\ 2/3 \\end{pmatrix}"),
    ("50", "50\\%"),
    (".5", "0.5"),
    ("2.", "2"),
])
def test_equivalent(pred, gold):
    assert is_equiv(pred, gold)


@pytest.mark.parametrize(("pred", "gold"), [
    ("0.33", "\\frac13"),  # not exact
    ("0.3333333", "\\frac{1}{3}"),
    ("\\frac{1}{2}", "\\frac{1}{3}"),
    ("(1,2)", "[1,2]"),  # open vs closed interval
    ("(2,1)", "(1,2)"),  # a tuple is ordered
    ("(a+5)(b+2)", "(b+2)(a+5)"),  # no algebra
    ("2", "2\\sqrt{2}"),
    ("A", "\\text{(B)}"),
    ("1,2", "1,2,3"),
    ("", "5"),
    (None, "5"),
])
def test_not_equivalent(pred, gold):
    assert not is_equiv(pred, gold)


def test_helpers():
    assert to_fraction("-\\frac{3}{4}") == to_fraction("-0.75")
    assert to_fraction("\\frac{1}{0}") is None
    assert to_fraction("\\pi") is None
    assert split_top_level("(1,2),\\{3,4\\},5") == ["(1,2)", "\\{3,4\\}", "5"]
    assert normalize("\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]") == "[\\frac{\\pi^2}{8},\\frac{5\\pi^2}{4}]"


def test_every_math500_answer_equals_itself_and_rarely_its_neighbour(data_dir):
    rows = [json.loads(line) for line in (data_dir / "math500" / "test.jsonl").read_text().splitlines()]
    assert len(rows) == 500
    assert all(is_equiv(r["answer"], r["answer"]) for r in rows)
    # also when boxed and extracted from a solution-like reply
    assert all(is_equiv(extract_last_boxed(f"... so $\\boxed{{{r['answer']}}}$."), r["answer"]) for r in rows)
    neighbour = sum(is_equiv(rows[i]["answer"], rows[i - 1]["answer"]) for i in range(len(rows)))
    same_text = sum(normalize(rows[i]["answer"]) == normalize(rows[i - 1]["answer"]) for i in range(len(rows)))
    assert neighbour == same_text == 3  # "7"/"7", "3"/"3" and "x=5"/"5": no numeric or structural false match
