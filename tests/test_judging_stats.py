"""Agreement statistics against published worked examples; the length GLM against the alpaca-eval package."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import peer_python

from evalkit.judging.agreement import cohen_kappa, fleiss_kappa, percent_agreement
from evalkit.judging.bias import length_section
from evalkit.judging.glm import fit_length_glm
from evalkit.judging.inputs import read_judgment_files

PEER = peer_python("alpacaeval")
BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_cohen_kappa_worked_example():
    # Cohen's κ textbook example: 50 items, 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no → p_o 0.7, p_e 0.5, κ 0.4
    a = ["y"] * 25 + ["n"] * 25
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert math.isnan(cohen_kappa(["y", "y"], ["y", "y"]))


def test_fleiss_kappa_worked_example():
    # Fleiss (1971) style example as tabulated on Wikipedia: 10 items, 14 raters, 5 categories → κ ≈ 0.210
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    ratings = [[str(c) for c, n in enumerate(row) for _ in range(n)] for row in table]
    assert fleiss_kappa(ratings) == pytest.approx(0.2099, abs=5e-4)
    assert percent_agreement(ratings) == pytest.approx(0.1)
    two = [["A", "A"], ["B", "A"], ["B", "B"], ["A", "A"]]
    assert percent_agreement(two) == 0.75
    # with two raters Fleiss' κ is Scott's π: p_e from the pooled marginals (5 A, 3 B)
    p_e = (5 / 8) ** 2 + (3 / 8) ** 2
    assert fleiss_kappa(two) == pytest.approx((0.75 - p_e) / (1 - p_e))


def test_glm_recovers_known_coefficients():
    rng = np.random.default_rng(0)
    n = 4000
    len_base = rng.integers(200, 3000, n)
    len_cand = rng.integers(200, 3000, n)
    delta = (len_base - len_cand) / np.std(len_base - len_cand, ddof=1)
    p = 1 / (1 + np.exp(-(-0.8 + -1.5 * np.tanh(delta))))
    wins = (rng.random(n) < p).astype(float)
    fit = fit_length_glm(wins, len_cand, len_base)
    assert fit.theta == pytest.approx(-0.8, abs=0.12) and fit.phi == pytest.approx(-1.5, abs=0.15)
    assert fit.lc_win_rate == pytest.approx(1 / (1 + math.exp(0.8)), abs=0.03)


def _annotations(data_dir: Path) -> list[Path]:
    paths = sorted((data_dir / "alpaca_eval/results").glob("*/weighted_alpaca_eval_gpt4_turbo/annotations.json"))
    return [p for p in paths if p.parts[-3] != "gpt4_1106_preview"]


def test_raw_win_rate_equals_alpaca_eval_leaderboard(data_dir):
    import csv

    board_path = data_dir / "alpaca_eval/leaderboards/data_AlpacaEval_2/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv"
    board = {row[""]: row for row in csv.DictReader(open(board_path, encoding="utf-8"))}
    paths = _annotations(data_dir)
    assert len(paths) == 3
    for path in paths:
        raw = length_section(read_judgment_files(path), n_resamples=0)["raw_win_rate"]
        assert raw["n"] == 805
        assert abs(raw["value"] * 100 - float(board[path.parts[-3]]["win_rate"])) < 1e-9


@pytest.mark.skipif(not PEER.exists(), reason=f"alpaca-eval side venv not found at {PEER} (.ci/run makes it)")
def test_lc_win_rate_matches_alpaca_eval_package(data_dir):
    import sys

    sys.path.insert(0, str(BENCH))
    from alpaca_lc_parity import PEER_SCRIPT

    path = _annotations(data_dir)[0]  # alpaca-7b
    peer = json.loads(subprocess.run([str(PEER), "-c", PEER_SCRIPT, str(path)], capture_output=True, text=True,
                                     check=True, timeout=300).stdout.strip().splitlines()[-1])
    ours = length_section(read_judgment_files(path), n_resamples=0)["lc_win_rate"]["value"] * 100
    # the package at a tight solver tolerance: the same optimum; at its default (1e-4) liblinear stops early
    assert ours == pytest.approx(peer["lc_tight"], abs=1e-3)
    assert ours == pytest.approx(peer["lc"], abs=0.1)
