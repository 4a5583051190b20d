"""`evalkit bias` recovers biases injected into a scripted judge, on real pair data, within its CIs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from helpers import run_cli


def _inside(metric: dict, truth: float) -> bool:
    lo, hi = metric["ci95"]
    return lo <= truth <= hi


def _biased_judge(monkeypatch, fake_server, settings: str):
    """The fake OpenAI server answering as a judge with the given injected biases."""
    monkeypatch.setenv("BIASED_JUDGE", settings)
    return fake_server("--responder", "evalkit.testing.biased_judge:respond")


def _audit(tmp_path: Path, server, pairs: Path, *judges: str, extra: tuple[str, ...] = ()) -> tuple[dict, Path]:
    out = tmp_path / "audit"
    args = [a for j in judges for a in ("--judge", j)]
    proc = run_cli("bias", "--pairs", str(pairs), *args, "--judge-base-url", server.base_url, "--out", str(out),
                   "-q", *extra)
    assert proc.returncode == 0, proc.stderr
    return json.loads((out / "bias.json").read_text())["judge_bias"], out


def test_position_bias_recovered(tmp_path, data_dir, fake_server, monkeypatch):
    p = 0.7
    server = _biased_judge(monkeypatch, fake_server, f"p_first={p}")
    section, out = _audit(tmp_path, server, data_dir / "llmbar" / "Processed_MT-Bench.json", "openai:pos-judge", extra=("--padding-probe", "100"))
    audit = section["openai:pos-judge"]
    position = audit["position"]
    assert position["consistency"]["n"] == 200
    assert _inside(position["consistency"], 2 * p * (1 - p))
    assert _inside(position["first_position_share"], p * p)
    assert _inside(position["second_position_share"], (1 - p) ** 2)
    assert _inside(audit["length"]["padding_preference"], 0.5)  # no length bias: balanced over the two orders
    # a pure position judge is right only when consistent and on the gold side: p(1-p) for either gold
    assert _inside(audit["agreement"]["accuracy"], p * (1 - p))
    rows = [json.loads(line) for line in (out / "judgments.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * 200 + 2 * 100 and sum(r.get("probe") == "padding" for r in rows) == 200
    # the same judgments read back from the file give the same audit (judgments made elsewhere)
    again = run_cli("bias", "--judgments", str(out / "judgments.jsonl"), "--out", str(tmp_path / "again"), "-q")
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "again" / "bias.json").read_text())["judge_bias"] == section


def test_length_bias_recovered(tmp_path, data_dir, fake_server, monkeypatch):
    q = 0.6
    server = _biased_judge(monkeypatch, fake_server, f"q_longer={q},p_first=0.5")
    pairs = data_dir / "llmbar" / "Processed_MT-Bench.json"
    section, _ = _audit(tmp_path, server, pairs, "openai:len-judge", extra=("--padding-probe", "150"))
    audit = section["openai:len-judge"]
    longer = q + (1 - q) * 0.5  # chance, per call, of picking the longer response
    assert _inside(audit["length"]["padding_preference"], longer)
    rows = json.loads(pairs.read_text())
    p_a = np.array([longer if len(r["output_1"]) > len(r["output_2"]) else 1 - longer
                    if len(r["output_1"]) < len(r["output_2"]) else 0.5 for r in rows])
    assert _inside(audit["length"]["raw_win_rate"], float(p_a.mean()))
    p_gold = np.array([pa if r["label"] == 1 else 1 - pa for pa, r in zip(p_a, rows)])
    assert _inside(audit["agreement"]["accuracy"], float((p_gold ** 2).mean()))  # right in both orders
    # the judge prefers length and nothing else: controlled for length, output_1 wins about half the time
    assert _inside(audit["length"]["lc_win_rate"], 0.5)
    assert audit["length"]["lc_win_rate"]["value"] != audit["length"]["raw_win_rate"]["value"]


def test_self_enhancement_recovered(tmp_path, fake_server, monkeypatch):
    s = 0.6
    server = _biased_judge(monkeypatch, fake_server, f"self={s},p_first=0.5")
    pairs = tmp_path / "pairs.jsonl"
    with open(pairs, "w") as out:
        for i in range(300):
            out.write(json.dumps({"id": f"q{i}", "prompt": f"Question {i}?",
                                  "response_a": f"Answer {i:03d}, signed alpha-judge.",
                                  "response_b": f"Answer {i:03d}, signed other-xyz.", "model_a": "alpha-7b",
                                  "model_b": "zeta-7b"}) + "\n")
    section, _ = _audit(tmp_path, server, pairs, "openai:alpha-judge", "openai:beta-judge",
                        extra=("--padding-probe", "0"))
    own = section["openai:alpha-judge"]["self_enhancement"]
    assert own["model"] == "alpha-7b" and own["reference"] == "judges"
    assert _inside(own["self_win_rate"], s + (1 - s) * 0.5)
    assert _inside(own["reference_win_rate"], 0.5)
    assert _inside(own["difference"], s * 0.5) and own["difference"]["ci95"][0] > 0
    assert section["openai:beta-judge"]["self_enhancement"]["model"] is None


def test_audit_of_alpaca_eval_annotations_and_a_run(tmp_path, data_dir):
    path = data_dir / "alpaca_eval/results/alpaca-7b/weighted_alpaca_eval_gpt4_turbo/annotations.json"
    proc = run_cli("bias", "--judgments", str(path), "--out", str(tmp_path / "a"), "--resamples", "200")
    assert proc.returncode == 0, proc.stderr
    length = json.loads((tmp_path / "a" / "bias.json").read_text())["judge_bias"][
        "weighted_alpaca_eval_gpt4_turbo"]["length"]
    assert abs(length["raw_win_rate"]["value"] * 100 - 2.591450540) < 1e-8
    assert _inside(length["raw_win_rate"], length["raw_win_rate"]["value"])
    assert length["lc_win_rate"]["value"] > length["raw_win_rate"]["value"]  # alpaca-7b's answers are short


def test_bad_bias_input_exits_2(tmp_path):
    for args, message in ((["bias"], "exactly one of"), (["bias", "--judgments", "x.jsonl", "--judge", "openai:j"],
                                                        "--judge goes with --pairs")):
        proc = run_cli(*args)
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"benchmark": "b", "id": "1", "judge": "j"}) + "\n")
    proc = run_cli("bias", "--judgments", str(bad))
    assert proc.returncode == 2 and f"{bad}:1: kind: Field required" in proc.stderr
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"prompt": "p", "response_a": "a"}) + "\n")
    proc = run_cli("bias", "--pairs", str(pairs), "--judge", "openai:j", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and f"{pairs}:1: response_b: Field required" in proc.stderr
