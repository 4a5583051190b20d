"""`evalkit gate` end to end: real runs against the fake server, synthetic run pairs, CI outputs, bad input."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from helpers import gsm8k_answers, run_cli

from evalkit.gate import load_gate_config, run_gate
from evalkit.testing.synth_runs import BenchmarkInfo, write_run


def _rows(name: str, scores: list[dict], prompt: str = "Q{i}", target: str = "t") -> list[dict]:
    return [{"benchmark": name, "id": f"{name}-{i}", "input": prompt.format(i=i), "output": f"answer {i}",
             "target": target, "scores": s} for i, s in enumerate(scores)]


def _binary(n: int, acc: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random(n) < acc).astype(float)


def _degrade(base: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Turn ``share`` of the baseline's right answers wrong (a true drop of about share × accuracy)."""
    flip = (base == 1) & (np.random.default_rng(seed).random(base.size) < share)
    return np.where(flip, 0.0, base)


def _pair(tmp_path: Path, base: np.ndarray, cand: np.ndarray, base_info: BenchmarkInfo | None = None,
          cand_info: BenchmarkInfo | None = None, cand_prompt: str = "Q{i}") -> tuple[Path, Path]:
    b = write_run(tmp_path / "base", "m-base", _rows("arith", [{"acc": v} for v in base]),
                  {"arith": base_info or BenchmarkInfo()})
    c = write_run(tmp_path / "cand", "m-cand", _rows("arith", [{"acc": v} for v in cand], prompt=cand_prompt),
                  {"arith": cand_info or BenchmarkInfo()})
    return b, c


def test_real_runs_regression_fails_and_identical_quality_passes(tmp_path, data_dir, fake_server):
    common = ["--benchmark", "gsm8k", "--limit", "300", "--data-dir", str(data_dir), "-q", "--model", "openai:fake"]
    runs = {}
    for name, wrong_every in (("base", 10), ("same", 10), ("worse", 3)):
        server = fake_server("--answers", str(gsm8k_answers(data_dir, tmp_path / f"{name}.jsonl", wrong_every)))
        proc = run_cli("run", *common, "--base-url", server.base_url, "--out", str(tmp_path / name))
        assert proc.returncode == 0, proc.stderr
        runs[name] = tmp_path / name
    ok = run_cli("gate", "--baseline", str(runs["base"]), "--candidate", str(runs["same"]))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "PASS" in ok.stdout
    junit, summary = tmp_path / "gate.xml", tmp_path / "summary.md"
    bad = run_cli("gate", "--baseline", str(runs["base"]), "--candidate", str(runs["worse"]),
                  "--junit", str(junit), "--summary", str(summary))
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "regression in gsm8k/exact_match_strict" in bad.stdout
    suite = ET.parse(junit).getroot()
    # comparable + the two exact-match metrics + `truncated` (the generate kind's share of cut-off replies)
    assert suite.get("failures") == "2" and suite.get("tests") == "4"
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed == ["exact_match_strict", "exact_match_flexible"]
    text = summary.read_text()
    assert text.startswith("## ❌ evalkit gate") and "| gsm8k | exact_match_strict |" in text
    # 300 items: every 10th wrong (270 right) vs every 3rd wrong (200 right); the 70 discordant all favour the baseline
    assert "| 0.9000 | 0.6667 | +0.2333" in text and "mcnemar-exact" in text
    run_cli("gate", "--baseline", str(runs["base"]), "--candidate", str(runs["same"]), "--summary", str(summary))
    assert summary.read_text().count("evalkit gate") == 2  # appended, as $GITHUB_STEP_SUMMARY expects


def test_margin_from_flag_and_config(tmp_path):
    base = _binary(1000, 0.7, 1)
    cand = _degrade(base, 0.045, 2)  # a drop of about 3 points, all on discordant pairs
    b, c = _pair(tmp_path, base, cand)
    strict = run_gate(b, c, load_gate_config(None))
    assert [m.status for m in strict.failures] == ["regression"] and strict.exit_code == 1
    loose = run_gate(b, c, load_gate_config(None, max_drop=0.05))
    assert loose.exit_code == 0 and loose.benchmarks[0].metrics[0].method == "tango-score"
    config = tmp_path / "gate.yaml"
    config.write_text("max_drop: 0.0\nalpha: 0.01\nbenchmarks:\n  arith:\n    max_drop: {acc: 0.05}\n")
    assert run_gate(b, c, load_gate_config(config)).exit_code == 0
    proc = run_cli("gate", "--baseline", str(b), "--candidate", str(c), "--config", str(config), "--max-drop", "0")
    assert proc.returncode == 0  # the benchmark's own margin beats the top-level default
    check = run_gate(b, c, load_gate_config(None)).benchmarks[0].metrics[0]
    assert check.drop == pytest.approx(base.mean() - cand.mean())
    lo, hi = check.drop_ci
    assert lo < check.drop < hi


def test_floor_and_lower_is_better_metrics(tmp_path):
    base = _binary(500, 0.8, 3)
    info = BenchmarkInfo(metrics={"acc": True, "invalid": False})
    invalid_base = np.zeros(500)
    invalid_cand = (np.random.default_rng(4).random(500) < 0.08).astype(float)
    b = write_run(tmp_path / "b", "m", _rows("arith", [{"acc": a, "invalid": i} for a, i in zip(base, invalid_base)]),
                  {"arith": info})
    c = write_run(tmp_path / "c", "m", _rows("arith", [{"acc": a, "invalid": i} for a, i in zip(base, invalid_cand)]),
                  {"arith": info})
    report = run_gate(b, c, load_gate_config(None))
    statuses = {m.metric: m.status for m in report.benchmarks[0].metrics}
    assert statuses == {"acc": "pass", "invalid": "regression"}  # more invalid answers is worse
    config = tmp_path / "gate.yaml"
    config.write_text(f"benchmarks:\n  arith:\n    metrics: [acc]\n    floor: {{acc: {base.mean() + 0.01}}}\n")
    floored = run_gate(b, c, load_gate_config(config))
    assert [(m.metric, m.status) for m in floored.failures] == [("acc", "below_floor")]


@pytest.mark.parametrize(("cand_info", "cand_prompt", "problem"), [
    (BenchmarkInfo(fewshot_seed=99), "Q{i}", "fewshot_seed differs (1234 vs 99)"),
    (BenchmarkInfo(version=2), "Q{i}", "version differs"),
    (BenchmarkInfo(mode="loglikelihood"), "Q{i}", "mode differs"),
    (BenchmarkInfo(), "Question {i}", "prompts differ on 200 of 200 shared samples"),
])
def test_incomparable_runs_fail_unless_allowed(tmp_path, cand_info, cand_prompt, problem):
    base = _binary(200, 0.7, 5)
    b, c = _pair(tmp_path, base, base.copy(), cand_info=cand_info, cand_prompt=cand_prompt)
    proc = run_cli("gate", "--baseline", str(b), "--candidate", str(c))
    assert proc.returncode == 1
    assert problem in proc.stdout and "not comparable: arith" in proc.stdout
    allowed = run_cli("gate", "--baseline", str(b), "--candidate", str(c), "--allow-incomparable")
    assert allowed.returncode == 0, allowed.stdout


def test_sample_sets_errors_and_missing_benchmarks(tmp_path):
    base = _binary(300, 0.7, 6)
    b = write_run(tmp_path / "b", "m", _rows("arith", [{"acc": v} for v in base]) +
                  _rows("extra", [{"acc": 1.0}] * 5), {"arith": BenchmarkInfo(), "extra": BenchmarkInfo()})
    rows = _rows("arith", [{"acc": v} for v in base])[:250]
    for row in rows[:10]:
        row["error"], row["scores"] = "HTTP 500 after 6 retries", {}
    c = write_run(tmp_path / "c", "m", rows, {"arith": BenchmarkInfo()})
    report = run_gate(b, c, load_gate_config(None))
    assert report.missing == ["extra"] and report.exit_code == 1
    pairing = report.benchmarks[0].pairing
    assert "sample sets differ: 250 shared, 50 only in baseline, 0 only in candidate" in pairing.problems
    assert any("candidate errored on 10 samples" in w for w in pairing.warnings)
    assert report.benchmarks[0].metrics[0].n == 240  # errored samples are left out, never scored as wrong


def test_aggregate_only_metric_uses_the_unpaired_test(tmp_path):
    base = _binary(400, 0.7, 8)
    b, c = _pair(tmp_path, base, base.copy())
    for path, value in ((b, 0.40), (c, 0.30)):
        results = json.loads((path / "results.json").read_text())
        results["benchmarks"]["arith"]["metrics"]["bleu"] = {"value": value, "stderr": 0.02, "ci95": [0, 1],
                                                             "n": 400, "higher_is_better": True}
        (path / "results.json").write_text(json.dumps(results))
    report = run_gate(b, c, load_gate_config(None))
    bleu = next(m for m in report.benchmarks[0].metrics if m.metric == "bleu")
    assert bleu.method == "unpaired-z" and bleu.status == "regression"
    assert bleu.p_value == pytest.approx(0.000203, rel=0.01)  # z = 0.1 / (0.02·√2) = 3.54


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("max_drop: 0.1\nmax_drop: 0.2\n", "duplicate key 'max_drop'"),
    ("margin: 0.1\n", "unknown key 'margin'"),
    ("alpha: 1.5\n", "alpha must be between 0 and 1"),
    ("max_drop: fast\n", "max_drop must be a number"),
    ("benchmarks:\n  nope: {max_drop: 0.1}\n", "names benchmark 'nope', which neither run contains"),
    ("benchmarks:\n  arith: {metrics: [accuracy]}\n", "has no metric 'accuracy'"),
    ("benchmarks:\n  arith: {floor: 0.5}\n", "floor must be a mapping"),
    ("benchmarks: [arith]\n", "benchmarks must be a mapping"),
])
def test_bad_config_is_one_line_and_exit_2(tmp_path, yaml_text, message):
    base = _binary(50, 0.7, 9)
    b, c = _pair(tmp_path, base, base)
    config = tmp_path / "gate.yaml"
    config.write_text(yaml_text)
    proc = run_cli("gate", "--baseline", str(b), "--candidate", str(c), "--config", str(config))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_runs_and_flags_exit_2(tmp_path):
    base = _binary(50, 0.7, 10)
    b, c = _pair(tmp_path, base, base)
    cases = [
        (["--baseline", str(tmp_path / "nope"), "--candidate", str(c)], "is not a directory"),
        (["--baseline", str(b), "--candidate", str(c), "--alpha", "0"], "alpha must be between 0 and 1"),
        (["--baseline", str(b), "--candidate", str(c), "--max-drop", "-0.1"], "max-drop must be ≥ 0"),
        (["--baseline", str(b), "--candidate", str(c), "--correction", "bonferroni"], "--correction must be"),
    ]
    for args, message in cases:
        proc = run_cli("gate", *args)
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    with open(c / "samples.jsonl", "a") as handle:
        handle.write("{broken\n")
    proc = run_cli("gate", "--baseline", str(b), "--candidate", str(c))
    assert proc.returncode == 2 and "samples.jsonl:51: invalid JSON" in proc.stderr
    (c / "results.json").unlink()
    proc = run_cli("gate", "--baseline", str(b), "--candidate", str(c))
    assert proc.returncode == 2 and "results.json is missing" in proc.stderr
