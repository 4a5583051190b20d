"""The report's Bradley–Terry panel with Arena-Hard style control: ratings recovered from verdicts
drawn from the style model itself on real responses' style, and shown next to the raw ratings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evalkit.judging.inputs import read_judgment_files
from evalkit.judging.style import FEATURES, Style, differences, scale
from evalkit.report.bradley_terry import style_control
from evalkit.report.html import build_report
from evalkit.testing.synth_runs import write_run

MODELS = ("claude-2.1", "alpaca-7b", "gpt-3.5-turbo-1106")


def _verdicts(data_dir, theta: dict[str, float], gamma: np.ndarray, seed: int = 0) -> list[dict]:
    """AlpacaEval's real pairs (each model against gpt4_1106_preview), the winner drawn from
    logit P(model_a wins) = θ_a − θ_b + γ·f with f the scaled style differences of the real responses."""
    rows = [r for m in MODELS for r in read_judgment_files(
        data_dir / f"alpaca_eval/results/{m}/weighted_alpaca_eval_gpt4_turbo/annotations.json")]
    f = scale(np.array([differences(Style.of(r["len_a"], r["md_a"]), Style.of(r["len_b"], r["md_b"])) for r in rows]))
    rng = np.random.default_rng(seed)
    out = []
    for row, fk in zip(rows, f):
        p = 1 / (1 + math.exp(-(theta[row["model_a"]] - theta[row["model_b"]] + fk @ gamma)))
        winner = row["model_a"] if rng.random() < p else row["model_b"]
        out.append({**row, "id": f"{row['model_a']}-{row['id']}", "verdict": "A" if winner == row["model_a"] else "B",
                    "winner": winner, "valid": True, "score": float(winner == row["model_a"])})
    return out


def test_style_controlled_ratings_recover_the_generating_model(tmp_path, data_dir):
    theta = {"gpt4_1106_preview": 0.0, "claude-2.1": -0.6, "alpaca-7b": -0.9, "gpt-3.5-turbo-1106": -1.2}
    gamma = np.array([0.8, 0.1, 0.3, 0.0])
    judgments = _verdicts(data_dir, theta, gamma)
    style = style_control(judgments, n_bootstrap=60, seed=1)
    assert style is not None and style.n_battles == 3 * 805
    scale_elo = 400 / math.log(10)
    for model, true in theta.items():
        rating, ci = style.ratings[model]
        gap = (rating - style.ratings["gpt4_1106_preview"][0]) / scale_elo
        assert gap == pytest.approx(true, abs=0.3), model  # alpaca-7b is always the shorter: θ and length overlap
        assert ci is not None and ci[0] < rating < ci[1]
    for name, true in zip(FEATURES, gamma):
        value, ci = style.coefficients[name]
        assert value == pytest.approx(true, abs=0.15), name
        assert ci[0] < true < ci[1], name
    run = write_run(tmp_path / "judged", "gpt4_1106_preview", [], {}, {}, judgments)
    out = tmp_path / "index.html"
    build_report([run], out, n_bootstrap=30)
    panel = out.read_text().split('id="ranking"')[1].split("</section>")[0]
    assert "Style-controlled" in panel and 'id="style-control"' in panel and "length 0.8" in panel


def test_no_style_column_without_style_data(data_dir):
    judgments = [{k: v for k, v in r.items() if k not in ("md_a", "md_b")} for r in _verdicts(
        data_dir, {"gpt4_1106_preview": 0.0, "claude-2.1": 0.0, "alpaca-7b": 0.0, "gpt-3.5-turbo-1106": 0.0},
        np.zeros(4))]
    assert style_control(judgments, n_bootstrap=0) is None
