"""Each extractor against the reference it names, on replies chosen to tell the readings apart.

The expected values follow the references' code as published (lm-evaluation-harness 0.4.13's task YAMLs
and filters, TIGER-AI-Lab's evaluate_from_local.py), worked by hand; where evalkit deliberately differs
(BBH's markdown/case leniency, GSM8K's numeric comparison) the test says so and docs/benchmarks.md lists it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.kinds.generate import Extractor, _extract
from evalkit.scoring.compare import as_integer, comparison
from evalkit.scoring.gpqa import extract_letter_index
from evalkit.scoring.mmlu_pro import extract_letter, fallback_guess
from evalkit.specs.registry import get_spec

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _extractors(name: str) -> dict[str, Extractor]:
    return {e.get("name", "answer"): Extractor(**e) for e in get_spec(name).options["extractors"]}


# -- GSM8K (lm-eval gsm8k / gsm8k_cot: strict-match take_first, flexible-extract group_select -1) -----

@pytest.mark.parametrize(("reply", "strict", "flexible"), [
    # the reply that repeats until the token limit: lm-eval's strict takes the FIRST "#### N"
    ("#### 540 so far... #### 540 wait #### 5", "540", "5"),
    ("The total is $18.\n#### 18", "18", "18"),
    ("#### $18", None, "$18"),  # lm-eval's strict class has no "$": no strict match; flexible keeps "$18"
    ("#### 1,234.50", "1,234.50", "1,234.50"),
    ("She has 5 apples and 3 pears: 8 in all.", None, "8"),  # a lone digit is the second alternative
    ("Costs 12 dollars...", None, "..."),  # lm-eval's flexible regex takes the ellipsis as the last "number"
])
def test_gsm8k_extractors_follow_lm_eval(reply, strict, flexible):
    extractors = _extractors("gsm8k")
    assert _extract(reply, extractors["strict"]) == strict
    assert _extract(reply, extractors["flexible"]) == flexible


def test_gsm8k_numeric_comparison_is_the_documented_difference():
    number = comparison("number").equal
    assert number("1,234.50", "1234.5") and number("18.", "18") and number("$18", "18")
    assert number("18.00", "18")  # lm-eval compares strings after dropping ",", "$" and a final ".": wrong there
    assert not number("...", "12")


@pytest.mark.parametrize(("reply", "strict"), [
    ("So 3 + 4 = 7. The answer is 7.", "7"),
    ("The answer is 7", None),  # lm-eval's regex needs one character after the number ("." in the exemplars)
    ("The answer is 5. No wait, The answer is 7.", "5."),  # take_first; the greedy class keeps the "."
])
def test_gsm8k_cot_strict_follows_lm_eval(reply, strict):
    assert _extract(reply, _extractors("gsm8k_cot")["strict"]) == strict


# -- MMLU-Pro (TIGER-AI-Lab evaluate_from_local.py: three regexes, then a fixed guess) ------------------

@pytest.mark.parametrize(("reply", "letter"), [
    ("Let's think step by step. ... the answer is (B).", "B"),
    ("the answer is C because", "C"),
    ("The answer is (A). On reflection the answer is (D).", "A"),  # re.search: the first
    ("Final Answer: E", "E"),  # second pattern
    ("so the answer:\nF seems right, or maybe G", "F"),  # second: its \s* runs across the line break
    ("between F and G, so G", "G"),  # third: the last capital A-J standing alone
    ("I am not sure.", "I"),  # upstream reads the pronoun as option I (and so do we, deliberately)
    ("**Answer:** C", "C"),  # the colon pattern fails on "**", the last standalone letter is C
    ("answer is (K)", None),  # K is beyond A-J in every pattern
    ("no idea.", None),
])
def test_mmlu_pro_extraction_follows_tiger_lab(reply, letter):
    assert extract_letter(reply) == letter


def test_mmlu_pro_guess_is_upstreams_reseeded_draw():
    import random

    for n in range(3, 11):
        random.seed(12345)
        assert fallback_guess(n) == random.randint(0, n - 1)


# -- GPQA (lm-eval gpqa_*_cot_zeroshot flexible-extract) -------------------------------------------------

CHOICES = ["alpha decay", "beta decay", "gamma emission", "electron capture"]


@pytest.mark.parametrize(("reply", "index"), [
    ("(A) is tempting but (C) fits. The answer is (C).", 2),
    ("It is (B), not (D)", 3),  # group_select -1: the last "(X)"
    ("The process is Beta Decay!", 1),  # no "(X)": a choice's text, case and punctuation ignored
    ("Answer: D", 3),  # no "(X)", no choice text: ": X"
    ("The answer is (F)", 5),  # any capital in parentheses; past D it is simply wrong
    ("I cannot tell", None),
])
def test_gpqa_extraction_follows_lm_eval_flexible(reply, index):
    assert extract_letter_index(reply, CHOICES) == index


# -- BBH: evalkit is more lenient than lm-eval's get-answer, on purpose ----------------------------------

@pytest.mark.parametrize(("reply", "ours"), [
    ("So the answer is (B).", "(B)"),  # lm-eval: "(B)" too
    ("So the answer is (B)", "(B)"),  # lm-eval: "(B" (its lookahead drops the last character)
    ("So the answer is **True**.", "True"),  # lm-eval: "**True**"
    ("So The Answer Is valid.", "valid"),  # lm-eval's lookbehind is case-sensitive: no match
])
def test_bbh_extraction_is_the_documented_leniency(reply, ours):
    (extractor,) = _extractors("bbh").values()
    assert _extract(reply, extractor) == ours


# -- AIME: integers as integers -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [("025", 25), ("73.", 73), ("$73$", 73), ("\\boxed{204}", 204),
                                             ("1,000", 1000), ("7.0", 7), ("7.5", None), ("\\frac{1}{2}", None)])
def test_integer_answers(text, value):
    assert as_integer(text) == value


def test_aime_reads_the_answer_with_math_verify():
    (extractor,) = _extractors("aime24").values()
    integer = comparison("integer").equal
    assert integer(_extract("... so $m+n = \\boxed{073}$.", extractor), 73)
    assert integer(_extract("The final answer is 204", extractor), 204)
    assert not integer(_extract("The answer is \\boxed{72}", extractor), 73)
