"""Exact match and token F1 with SQuAD normalisation, checked by hand on the cases that matter."""

from __future__ import annotations

import pytest

from evalkit.metrics import compute, exact_match, normalize_answer, token_f1


def test_normalisation_drops_case_punctuation_articles_and_extra_space():
    assert normalize_answer("  The  Eiffel-Tower, in PARIS! ") == "eiffeltower in paris"
    assert normalize_answer("an apple a day") == "apple day"
    assert normalize_answer("theory") == "theory"  # articles only as whole words


def test_exact_match_and_f1_by_hand():
    assert exact_match("The Denver Broncos.", "denver broncos") == 1.0
    assert exact_match("Denver", "Denver Broncos") == 0.0
    # prediction "denver broncos won" vs "the denver broncos": 2 common, P = 2/3, R = 2/2
    assert token_f1("Denver Broncos won", "The Denver Broncos") == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))
    assert token_f1("cat", "dog") == 0.0
    assert token_f1("", "") == 1.0 and token_f1("the", "a") == 1.0  # both empty after normalisation
    assert token_f1("", "dog") == 0.0


def test_best_reference_counts_and_corpus_interval():
    scores = compute(["em", "f1"], ["Paris", "red car", "nothing"], [["paris", "Paris, France"], "a blue car", ["x"]])
    assert [r["exact_match"] for r in scores.per_sample] == [1.0, 0.0, 0.0]
    assert [r["f1"] for r in scores.per_sample] == [1.0, 0.5, 0.0]
    em = scores.corpus["exact_match"]
    assert em["value"] == pytest.approx(1 / 3) and 0 < em["ci95"][0] < 1 / 3 < em["ci95"][1] < 1  # Wilson
