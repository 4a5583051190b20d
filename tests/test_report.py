"""`evalkit report`: the numbers on the page, escaping, self-containment, Bradley–Terry, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli

from evalkit.errors import DataError
from evalkit.report.bradley_terry import elo, fit, ratings
from evalkit.report.html import build_report, script_json
from evalkit.report.samples import decode
from evalkit.testing.synth_runs import BenchmarkInfo, write_run

XSS_SCRIPT = "<script>window.__xss = 'script';</script>"
XSS_IMG = "<img src=x onerror=\"window.__xss = 'img'\">"
EVIL_MODEL = "model-<img src=x onerror=alert(1)>"
BENCHMARKS = {
    "arith": BenchmarkInfo(category="reasoning"),
    "logic": BenchmarkInfo(category="reasoning"),
    "facts": BenchmarkInfo(category="knowledge", metrics={"acc": True, "invalid": False}),
    "summ": BenchmarkInfo(category="summarization", metrics={"rouge_l": True}),
}
STRENGTH = {"model-a": 2.0, "model-b": 1.0, EVIL_MODEL: 0.5}


def _bias(seed: int) -> dict:
    rng = np.random.default_rng(seed)

    def m(v: float) -> dict:
        return {"value": v, "stderr": 0.01, "ci95": [v - 0.02, v + 0.02]}

    return {"judge-x": {"position": {"consistency": m(0.81), "first_position_share": m(0.58),
                                     "second_position_share": m(0.42)},
                        "length": {"raw_win_rate": m(0.62), "lc_win_rate": m(0.55), "padding_preference": m(0.6)},
                        "agreement": {"accuracy": m(float(rng.uniform(0.7, 0.8))), "kappa": m(0.5)}}}


def _judgments(rng: np.random.Generator, n_prompts: int = 60) -> list[dict]:
    rows = []
    models = list(STRENGTH)
    for p in range(n_prompts):
        for i, a in enumerate(models):
            for b in models[i + 1:]:
                for order in ("ab", "ba"):
                    first, second = (a, b) if order == "ab" else (b, a)
                    u = rng.random()
                    pa = STRENGTH[a] / (STRENGTH[a] + STRENGTH[b])
                    winner = "tie" if u > 0.9 else (a if rng.random() < pa else b)
                    verdict = "TIE" if winner == "tie" else ("A" if winner == first else "B")
                    rows.append({"benchmark": "chat", "id": f"p{p}", "judge": "judge-x", "kind": "pairwise",
                                 "model_a": first, "model_b": second, "order": order, "verdict": verdict,
                                 "winner": winner, "valid": True, "rationale": "<b>because</b>"})
    rows.append({"benchmark": "chat", "id": "bad", "judge": "judge-x", "kind": "pairwise", "model_a": "model-a",
                 "model_b": "model-b", "order": "ab", "verdict": None, "winner": None, "valid": False,
                 "rationale": "unparseable"})
    return rows


def demo_runs(root: Path, n: int = 40, judged: bool = True) -> list[Path]:
    """Three runs over four benchmarks; model-b's 4th arith output carries XSS payloads; judgments in run 0."""
    rng = np.random.default_rng(7)
    paths = []
    for index, (model, skill) in enumerate([("model-a", 0.8), ("model-b", 0.6), (EVIL_MODEL, 0.4)]):
        rows = []
        for name in BENCHMARKS:
            for i in range(n):
                prompt = f"[user]\n{name} question {i}: what is {i} + {i}? <b>bold</b> & more"
                correct = bool(rng.random() < skill)
                output = f"The answer is {2 * i if correct else 2 * i + 1}."
                if model == "model-b" and name == "arith" and i == 3:
                    output = f"{XSS_SCRIPT}\n{XSS_IMG}\n& &amp; \u2028 done"
                scores = {"rouge_l": round(float(rng.uniform(0.1, 0.9)), 4)} if name == "summ" else \
                    {"acc": float(correct)} | ({"invalid": 0.0} if name == "facts" else {})
                rows.append({"benchmark": name, "id": f"{name}-{i}", "input": prompt, "output": output,
                             "target": str(2 * i), "scores": scores,
                             "error": "HTTP 500 after 6 retries" if (model == "model-a" and name == "logic" and i == 0)
                             else None})
        extra = {"judge_bias": _bias(index)} if judged and index == 0 else None
        judgments = _judgments(rng) if judged and index == 0 else []
        paths.append(write_run(root / f"run{index}", model, rows, BENCHMARKS, extra, judgments))
    return paths


def _payload(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert match
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], str]:
    root = tmp_path_factory.mktemp("report")
    runs = demo_runs(root)
    out = root / "out" / "index.html"
    stats = build_report(runs, out, n_bootstrap=50)
    assert stats["runs"] == 3 and stats["benchmarks"] == 4 and stats["samples"] == 3 * 4 * 40
    return runs, out.read_text(encoding="utf-8")


def test_script_json_escapes_everything_that_could_end_the_script():
    data = {"a": "</script><script>alert(1)</script>", "b": "x & y > z", "c": "line\u2028sep\u2029end", "d": "ü"}
    text = script_json(data)
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in text
    assert json.loads(text) == data


def test_page_is_self_contained_and_escapes_model_text(report):
    _, html = report
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert "<link" not in html and not re.search(r"<script[^>]+src=", html)
    assert "default-src 'none'" in html.replace("&#39;", "'")
    # model and dataset text appears only escaped in the markup
    assert "<img src=x" not in html and "<b>bold</b>" not in html and "<b>because</b>" not in html
    assert "model-&lt;img src=x onerror=alert(1)&gt;" in html
    assert XSS_SCRIPT not in html
    script = html.rsplit("<script>", 1)[1]
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function("):
        assert sink not in script  # text reaches the DOM through textContent only


def test_csp_allows_exactly_the_inline_script(report):
    import base64
    import hashlib

    _, html = report
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1).replace("&#39;", "'")
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy and "unsafe-inline' " not in policy.split("style-src")[0]


def test_embedded_samples_are_the_exact_rows(report):
    runs, html = report
    payload = _payload(html)
    table = decode(payload["samples"]["data"])
    rows = table["rows"]
    assert len(rows["run"]) == payload["n_samples"] == 480
    originals = [json.loads(line) for run in runs for line in (run / "samples.jsonl").read_text().split("\n") if line]
    for i, original in enumerate(originals):
        assert table["runs"][rows["run"][i]] == json.loads((runs[rows["run"][i]] / "manifest.json").read_text())["model"]["name"]
        assert table["texts"][rows["prompt"][i]] == original["input"]
        assert rows["output"][i] == original["output"]
        assert table["texts"][rows["target"][i]] == original["target"]
    assert sum(1 for o in rows["outcome"] if o == "error") == 1
    assert {"pass", "fail", "scored", "error"} == set(rows["outcome"])
    # prompts are stored once, not once per run
    assert len(table["texts"]) <= 2 * 4 * 40


def test_leaderboard_cells_and_category_averages(report):
    runs, html = report
    results = [json.loads((run / "results.json").read_text())["benchmarks"] for run in runs]
    table = html.split('id="leaderboard-table"')[1].split("</table>")[0]
    body_rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    assert len(body_rows) == 3
    for res, row in zip(results, body_rows):
        values = [float(v) if v else None for v in re.findall(r'<td class="num[^"]*" data-sort="([^"]*)"', row)]
        # columns in category order: facts (knowledge), arith, logic (reasoning), summ (summarization)
        bench = [res["facts"]["metrics"]["acc"]["value"], res["arith"]["metrics"]["acc"]["value"],
                 res["logic"]["metrics"]["acc"]["value"], res["summ"]["metrics"]["rouge_l"]["value"]]
        assert values[:4] == pytest.approx(bench, abs=1e-12)
        knowledge, reasoning, summarization, overall = values[4:]
        assert knowledge == pytest.approx(bench[0])
        assert reasoning == pytest.approx((bench[1] + bench[2]) / 2)
        assert summarization == pytest.approx(bench[3])
        assert overall == pytest.approx(sum(bench) / 4)
        lo, hi = res["arith"]["metrics"]["acc"]["ci95"]
        assert f"[{lo * 100:.1f}, {hi * 100:.1f}]" in row


def test_judge_panels_appear_only_with_judge_results(report, tmp_path):
    _, html = report
    assert 'id="judge-bias"' in html and 'id="ranking"' in html
    assert "consistency" in html and "lc win rate" in html
    plain = demo_runs(tmp_path, n=5, judged=False)
    build_report(plain, tmp_path / "plain.html", n_bootstrap=0)
    text = (tmp_path / "plain.html").read_text()
    assert 'id="judge-bias"' not in text and 'id="ranking"' not in text


def _penalised_nll(theta: np.ndarray, wins: np.ndarray, prior: float) -> float:
    p = np.exp(theta)
    ll = (wins * (np.log(p)[:, None] - np.log(p[:, None] + p[None, :]))).sum()
    ll += (prior / 2 * (np.log(p) - np.log(p + 1)) + prior / 2 * (0 - np.log(p + 1))).sum()
    return float(-ll)


def test_bradley_terry_matches_direct_likelihood_maximisation():
    from scipy.optimize import minimize

    rng = np.random.default_rng(3)
    truth = np.array([1.6, 0.7, 0.0, -0.9])
    wins = np.zeros((4, 4))
    for _ in range(600):
        i, j = rng.choice(4, 2, replace=False)
        if rng.random() < 1 / (1 + np.exp(truth[j] - truth[i])):
            wins[i, j] += 1
        else:
            wins[j, i] += 1
    for prior in (1.0, 0.0):
        ours = elo(fit(wins, prior=prior))
        best = minimize(_penalised_nll, np.zeros(4), args=(wins, prior), method="BFGS", options={"gtol": 1e-10}).x
        assert ours == pytest.approx(elo(np.exp(best)), abs=1e-3)
    assert list(np.argsort(-ours)) == [0, 1, 2, 3]


def test_bradley_terry_ranking_and_intervals_from_judgments():
    rng = np.random.default_rng(11)
    result = ratings(_judgments(rng, n_prompts=150), n_bootstrap=100, seed=1)
    assert [r.model for r in result] == ["model-a", "model-b", EVIL_MODEL]
    expected = elo(np.array(list(STRENGTH.values())))
    for r, truth in zip(result, expected):
        lo, hi = r.ci95
        assert lo < r.rating < hi
        assert lo - 40 < truth < hi + 40  # true strengths (elo scale) near the intervals
    assert sum(r.games for r in result) == 2 * 150 * 3 * 2


def test_report_cli_writes_the_file_and_rejects_bad_input(tmp_path):
    runs = demo_runs(tmp_path / "runs", n=5, judged=False)
    out = tmp_path / "site" / "index.html"
    proc = run_cli("report", *map(str, runs), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.exists() and "3 runs" in proc.stdout
    missing = run_cli("report", str(tmp_path / "nope"), "--out", str(out))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr and "not a directory" in missing.stderr
    (runs[0] / "judgments.jsonl").write_text("{not json\n")
    broken = run_cli("report", str(runs[0]), "--out", str(out))
    assert broken.returncode == 2 and "judgments.jsonl:1" in broken.stderr
    (runs[1] / "results.json").write_text("[]")
    with pytest.raises(DataError, match="expected"):
        build_report([runs[1]], out)


def test_real_alpaca_eval_judgments_and_bias_audit(tmp_path, data_dir):
    """AlpacaEval's GPT-4-turbo annotations of two models against its reference, through the judge
    module's reader and audit, shown by the report: a star design, so each model's Bradley–Terry
    odds against the reference must equal its share of wins (ties half), up to the weak prior."""
    from evalkit.judging.bias import audit
    from evalkit.judging.inputs import read_judgment_files

    judgments = []
    for model in ("claude-2.1", "alpaca-7b"):
        judgments += read_judgment_files(data_dir / "alpaca_eval" / "results" / model / "weighted_alpaca_eval_gpt4_turbo"
                                    / "annotations.json")
    bias = audit(judgments, n_resamples=50, lc_resamples=20)
    rows = judgments  # dicts, as judgments.jsonl holds them
    run = write_run(tmp_path / "judged", "gpt4_1106_preview", [], {}, {"judge_bias": bias}, rows)
    out = tmp_path / "index.html"
    build_report([run], out, n_bootstrap=50)
    html = out.read_text()
    table = html.split('id="judge-bias-table"')[1].split("</table>")[0]
    assert "lc win rate" in table and ">1610<" in table  # n_judgments from the audit
    lc = bias["weighted_alpaca_eval_gpt4_turbo"]["length"]["lc_win_rate"]["value"]
    assert f'data-sort="{lc}"' in table
    for prior, tolerance in ((0.0, 1e-9), (1.0, 1e-3)):
        result = {r.model: r for r in ratings(rows, n_bootstrap=0, prior=prior)}
        assert list(result) == ["gpt4_1106_preview", "claude-2.1", "alpaca-7b"]
        for model in ("claude-2.1", "alpaca-7b"):
            mine = [j for j in rows if j["model_a"] == model and j["valid"]]
            share = sum(1.0 if j["winner"] == model else 0.5 if j["winner"] == "tie" else 0.0 for j in mine) / len(mine)
            gap = (result[model].rating - result["gpt4_1106_preview"].rating) * np.log(10) / 400
            assert 1 / (1 + np.exp(-gap)) == pytest.approx(share, abs=tolerance)  # 116/805 for claude-2.1
    assert 'id="ranking"' in html and "gpt4_1106_preview" in html.split('id="ranking-table"')[1]
