"""Honest intervals, Arena-Hard style control and model families, checked against their definitions."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers import run_cli

from evalkit.judging.bias import length_section, style_section
from evalkit.judging.families import family
from evalkit.judging.glm import CS, fit_length_glm
from evalkit.judging.inputs import read_judgment_files
from evalkit.judging.style import FEATURES, Style, differences, markdown_counts, scale

ANNOTATIONS = "alpaca_eval/results/{}/weighted_alpaca_eval_gpt4_turbo/annotations.json"


def _coin_judge(rows: list[dict], seed: int) -> list[dict]:
    """The real AlpacaEval pairs (real lengths) judged by a coin: verdicts that ignore length."""
    rng = np.random.default_rng(seed)
    out = []
    for row in rows:
        win = bool(rng.random() < 0.5)
        out.append({**row, "score": float(win), "verdict": "A" if win else "B",
                    "winner": row["model_a"] if win else row["model_b"], "valid": True})
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_no_zero_width_lc_interval_at_maximal_regularisation(data_dir, seed):
    rows = _coin_judge(read_judgment_files(data_dir / ANNOTATIONS.format("claude-2.1")), seed)
    section = length_section(rows, n_resamples=200, lc_resamples=200)
    lc = section["lc_win_rate"]
    assert section["length_penalty_c"] == CS[0] and lc["value"] == 0.5  # the strongest penalty: θ shrunk to 0
    # the old interval reused the full-data penalty in every resample: 0.5 every time, a zero-width claim
    arr = np.array([(r["score"], r["len_a"], r["len_b"]) for r in rows], float)
    rng = np.random.default_rng(0)
    reused = {fit_length_glm(*arr[rng.integers(0, len(arr), len(arr))].T, c=CS[0]).lc_win_rate for _ in range(20)}
    assert reused == {0.5}
    lo, hi = lc["ci95"]
    if lo is None:  # every refitted resample still chose θ = 0: said plainly, no interval
        assert hi is None and "no interval" in lc["note"]
    else:
        assert hi - lo > 0.01 and lo <= 0.5 <= hi
    assert section["raw_win_rate"]["ci95"][1] > section["raw_win_rate"]["ci95"][0]


def test_markdown_counts_follow_arena_hard_definitions():
    text = ("# Title\n## Part\n#no-space is not a header\nSome **bold** and __also bold__ and **not\nbold**.\n"
            "1. first\n  2. second\n- dash\n* star\n+ plus\n-not a list\n"
            "```\n# a comment, not a header\n- not a list\n**not bold**\n```\n")
    assert markdown_counts(text) == {"headers": 2, "bold": 2, "lists": 5}
    a, b = Style(100, 2, 1, 0), Style(300, 0, 0, 3)
    diff = differences(a, b)
    assert diff[0] == pytest.approx((100 - 300) / 400)
    assert diff[1] == pytest.approx((0.02 - 0) / (0.02 + 0 + 1))
    assert diff[3] == pytest.approx((0 - 0.01) / (0 + 0.01 + 1))


def test_style_control_recovers_known_coefficients(data_dir):
    """Outcomes drawn from the style model itself, on the real AlpacaEval responses' style: the fit
    must give back the coefficients and the equal-style win rate."""
    pairs = []
    for model in ("alpaca-7b", "claude-2.1", "gpt-3.5-turbo-1106"):
        for row in read_judgment_files(data_dir / ANNOTATIONS.format(model)):
            pairs.append((Style.of(row["len_a"], row["md_a"]), Style.of(row["len_b"], row["md_b"]), row))
    f = scale(np.array([differences(a, b) for a, b, _ in pairs]))
    theta, gamma = -0.4, np.array([0.9, 0.0, 0.35, -0.2])
    rng = np.random.default_rng(0)
    p = 1 / (1 + np.exp(-(theta + f @ gamma)))
    rows = [{**row, "score": float(w), "valid": True, "probe": None}
            for (_, _, row), w in zip(pairs, rng.random(len(p)) < p)]
    section = style_section([{"ab": r} for r in rows], n_resamples=100)
    assert section["win_rate"]["value"] == pytest.approx(1 / (1 + math.exp(-theta)), abs=0.03)
    for name, true in zip(FEATURES, gamma):
        fitted = section[f"{name}_coef"]
        assert fitted["value"] == pytest.approx(true, abs=0.12), name
        assert fitted["ci95"][0] < true < fitted["ci95"][1], name
    # raw win rate differs from the equal-style one: the responses' style differs and the judge cares
    raw = float(np.mean([r["score"] for r in rows]))
    assert abs(raw - section["win_rate"]["value"]) > 0.03


def test_families_from_names():
    assert family("weighted_alpaca_eval_gpt4_turbo") == "gpt"
    assert family("alpaca_eval_clf_gpt4_turbo") == "gpt"
    assert family("gpt4_1106_preview") == family("openai:gpt-4o") == family("o1-mini") == "gpt"
    assert family("claude-2.1") == family("arena_hard:claude-3-haiku-20240307") == "claude"
    assert family("alpaca-7b") == family("vicuna-13b") == family("hf:meta-llama/Llama-3.1-8B") == "llama"
    assert family("hf:HuggingFaceTB/SmolLM2-135M-Instruct") == "smollm"
    assert family("openai:alpha-judge") == family("alpha-7b") == "alpha"  # no table entry: leading letters
    assert family("openai:my-model", {"openai:my-model": "gpt"}) == "gpt"


def test_family_override_on_the_command_line(tmp_path, data_dir):
    path = data_dir / ANNOTATIONS.format("claude-2.1")
    out = tmp_path / "a"
    proc = run_cli("bias", "--judgments", str(path), "--resamples", "0", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    own = json.loads((out / "bias.json").read_text())["judge_bias"]["weighted_alpaca_eval_gpt4_turbo"]
    assert own["self_enhancement"]["family"] == "gpt" and own["self_enhancement"]["model"] == "gpt4_1106_preview"
    proc = run_cli("bias", "--judgments", str(path), "--resamples", "0", "--out", str(out),
                   "--family", "weighted_alpaca_eval_gpt4_turbo=claude")
    assert proc.returncode == 0, proc.stderr
    own = json.loads((out / "bias.json").read_text())["judge_bias"]["weighted_alpaca_eval_gpt4_turbo"]
    assert own["self_enhancement"]["model"] == "claude-2.1"
    bad = run_cli("bias", "--judgments", str(path), "--family", "claude")
    assert bad.returncode == 2 and "write NAME=FAMILY" in bad.stderr
