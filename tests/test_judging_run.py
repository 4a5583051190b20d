"""Judged benchmarks end to end: `evalkit run/judge --judge` against a scripted judge on a real local server."""

from __future__ import annotations

import json
import re
from pathlib import Path

from helpers import run_cli

CONTRACT = {"benchmark", "id", "judge", "kind", "model_a", "model_b", "order", "verdict", "winner", "valid",
            "rationale"}


def _predictions(data_dir: Path, path: Path, model: str = "claude-2.1") -> Path:
    rows = json.loads((data_dir / "alpaca_eval/results" / model / "model_outputs.json").read_text())
    with open(path, "w", encoding="utf-8") as out:
        for i, row in enumerate(rows):
            out.write(json.dumps({"id": f"alpaca_eval-{i}", "output": row["output"]}) + "\n")
    return path


def _read(out: Path) -> tuple[dict, list[dict], list[dict]]:
    results = json.loads((out / "results.json").read_text())
    judgments = [json.loads(line) for line in (out / "judgments.jsonl").read_text().splitlines()]
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    return results, judgments, samples


def test_pairwise_swap_first_position_judge_and_cached_rerun(tmp_path, data_dir, fake_server, monkeypatch):
    monkeypatch.setenv("BIASED_JUDGE", "p_first=1")  # always "A": every pair flips with the order
    server = fake_server("--responder", "evalkit.testing.biased_judge:respond")
    preds = _predictions(data_dir, tmp_path / "preds.jsonl")
    args = ["run", "--model", f"predictions:{preds}", "--benchmark", "alpaca_eval", "--data-dir", str(data_dir),
            "--limit", "30", "--judge", "openai:judge-x", "--judge-base-url", server.base_url, "--swap", "-q"]
    first = run_cli(*args, "--out", str(tmp_path / "a"))
    assert first.returncode == 0, first.stderr
    results, judgments, samples = _read(tmp_path / "a")
    assert server.stats()["completed"] == 60
    assert len(judgments) == 60 and all(set(r) >= CONTRACT for r in judgments)
    assert {r["order"] for r in judgments} == {"ab", "ba"} and all(r["verdict"] == "A" for r in judgments)
    for r in judgments:  # "A" picks model_a in order ab and model_b in order ba
        assert r["winner"] == (r["model_a"] if r["order"] == "ab" else r["model_b"])
        assert r["model_b"] == "gpt4_1106_preview" and r["template"] == "pairwise"
    entry = results["benchmarks"]["alpaca_eval"]
    assert entry["metrics"]["win_rate"]["value"] == 0.5  # conservative: a flip with the order is a tie
    assert entry["judging"]["judges"]["openai:judge-x"]["inconsistent_rate"] == 1.0
    position = results["judge_bias"]["openai:judge-x"]["position"]
    assert position["consistency"]["value"] == 0.0 and position["first_position_share"]["value"] == 1.0
    assert set(position["consistency"]) >= {"value", "stderr", "ci95"}
    assert all(s["judge_scores"] == {"openai:judge-x": 0.5} for s in samples)

    second = run_cli(*args, "--out", str(tmp_path / "b"), "--swap-policy", "balanced")
    assert second.returncode == 0, second.stderr
    assert server.stats()["requests"] == 60  # the re-audit is answered from the cache: zero calls
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["execution"]["judges"]["openai:judge-x"]["model_calls"] == 0
    assert json.loads((tmp_path / "b" / "results.json").read_text())["judge_bias"] == results["judge_bias"]

    audit = run_cli("bias", "--run", str(tmp_path / "a"), "--resamples", "100", "--seed", "3")
    assert audit.returncode == 0, audit.stderr
    updated = json.loads((tmp_path / "a" / "results.json").read_text())
    assert updated["benchmarks"] == results["benchmarks"]
    assert updated["judge_bias"]["openai:judge-x"]["position"]["first_position_share"]["value"] == 1.0
    assert updated["judge_bias"]["openai:judge-x"]["n_judgments"] == 60


def test_invalid_replies_are_retried_once_then_counted(tmp_path, data_dir, fake_server, monkeypatch):
    preds = _predictions(data_dir, tmp_path / "preds.jsonl")
    base = ["--model", f"predictions:{preds}", "--benchmark", "alpaca_eval", "--data-dir", str(data_dir),
            "--limit", "40", "--judge", "openai:judge-y", "-q", "--no-cache"]
    monkeypatch.setenv("BIASED_JUDGE", "invalid=0.4")
    lenient = fake_server("--responder", "evalkit.testing.biased_judge:respond")
    proc = run_cli("run", *base, "--judge-base-url", lenient.base_url, "--out", str(tmp_path / "fixed"))
    assert proc.returncode == 0, proc.stderr
    results, judgments, _ = _read(tmp_path / "fixed")
    retried = sum(r["retried"] for r in judgments)
    orders = [r["order"] for r in judgments]  # one order per pair, chosen per item: both occur
    assert len(orders) == 40 and 10 < orders.count("ab") < 30
    assert 5 < retried < 30 and all(r["valid"] for r in judgments)
    assert lenient.stats()["completed"] == 40 + retried  # one reminder per invalid reply, no more

    monkeypatch.setenv("BIASED_JUDGE", "invalid=0.4,stubborn=1")
    stubborn = fake_server("--responder", "evalkit.testing.biased_judge:respond")
    proc = run_cli("run", *base, "--judge-base-url", stubborn.base_url, "--out", str(tmp_path / "stubborn"))
    assert proc.returncode == 0, proc.stderr
    results, judgments, samples = _read(tmp_path / "stubborn")
    invalid = [r for r in judgments if not r["valid"]]
    assert len(invalid) == retried and all(r["retried"] and r["verdict"] is None for r in invalid)
    assert all("text after the verdict" in r["problem"] for r in invalid)
    entry = results["benchmarks"]["alpaca_eval"]
    assert entry["metrics"]["win_rate"]["n"] == 40 - len(invalid)  # never guessed, never scored as a loss
    assert entry["judging"]["judges"]["openai:judge-y"]["n_invalid"] == len(invalid)
    assert stubborn.stats()["completed"] == 40 + retried


def test_mt_bench_pointwise_reference_guided(tmp_path, data_dir, fake_server, monkeypatch):
    monkeypatch.setenv("BIASED_JUDGE", "pass_marker=ZEBRA")
    server = fake_server("--responder", "evalkit.testing.biased_judge:respond")
    questions = [json.loads(line) for line in (data_dir / "mt_bench/question.jsonl").read_text().splitlines()]
    preds = tmp_path / "mt.jsonl"
    with open(preds, "w") as out:
        for q in questions:
            marker = " ZEBRA" if q["question_id"] % 3 == 0 else ""
            out.write(json.dumps({"id": f"mt_bench-{q['question_id']}", "output": "An answer." + marker}) + "\n")
    proc = run_cli("run", "--model", f"predictions:{preds}", "--benchmark", "mt_bench", "--data-dir", str(data_dir),
                   "--judge", "openai:grader", "--judge-base-url", server.base_url, "--out", str(tmp_path / "r"), "-q")
    assert proc.returncode == 0, proc.stderr
    results, judgments, _ = _read(tmp_path / "r")
    expected = sum(q["question_id"] % 3 == 0 for q in questions) / len(questions)
    entry = results["benchmarks"]["mt_bench"]
    assert entry["metrics"]["pass_rate"]["value"] == expected and entry["metrics"]["pass_rate"]["n"] == 80
    assert entry["metrics"]["pass_rate_turn2"]["n"] == 0  # predictions answer the first turn only
    templates = {r["category"]: r["template"] for r in judgments}
    assert templates["math"] == templates["reasoning"] == "pointwise_math"
    assert templates["coding"] == "pointwise_code" and templates["writing"] == "pointwise"
    assert all(r["kind"] == "pointwise" and r["order"] == "ab" and r["winner"] is None for r in judgments)
    assert set(entry["groups"]) == {q["category"] for q in questions}


def test_mt_bench_second_turn_live_model(tmp_path, data_dir, fake_server, monkeypatch):
    """Turn 2 is asked after turn 1 with the first answer in the conversation, and judged on its own."""
    questions = [json.loads(line) for line in (data_dir / "mt_bench/question.jsonl").read_text().splitlines()]
    refs = {r["question_id"]: r["choices"][0]["turns"] for r in
            map(json.loads, (data_dir / "mt_bench/reference_answer/gpt-4.jsonl").read_text().splitlines())}
    answers = {}  # qid → (turn-1 answer, turn-2 answer); the scripted judge passes exactly those with ZEBRA
    for q in questions:
        qid = q["question_id"]
        answers[qid] = (f"First answer {qid}." + (" ZEBRA" if qid % 3 == 0 else ""),
                        f"Second answer {qid}." + (" ZEBRA" if qid % 2 == 0 else ""))
    script = tmp_path / "answers.jsonl"
    script.write_text("".join(json.dumps({"match": q["turns"][t], "output": answers[q["question_id"]][t]}) + "\n"
                              for t in (0, 1) for q in questions))
    model = fake_server("--answers", str(script))
    monkeypatch.setenv("BIASED_JUDGE", "pass_marker=ZEBRA")
    judge = fake_server("--responder", "evalkit.testing.biased_judge:respond")
    args = ["run", "--model", "openai:fake", "--base-url", model.base_url, "--benchmark", "mt_bench", "--data-dir",
            str(data_dir), "--judge", "openai:grader", "--judge-base-url", judge.base_url, "-q"]
    proc = run_cli(*args, "--out", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr

    by_question = {q["turns"][0]: q for q in questions}
    asked = model.bodies()
    assert len(asked) == 160
    seconds = [b["messages"] for b in asked if len(b["messages"]) > 1]
    assert len(seconds) == 80  # two model calls per question: the second carries the first answer
    for messages in seconds:
        q = by_question[messages[-3]["content"]]
        assert [(m["role"], m["content"]) for m in messages[-3:]] == [
            ("user", q["turns"][0]), ("assistant", answers[q["question_id"]][0]), ("user", q["turns"][1])]

    graded = [b["messages"][-1]["content"] for b in judge.bodies()]
    assert len(graded) == 160
    for q in questions:
        qid, (first, second) = q["question_id"], answers[q["question_id"]]
        prompt = [g for g in graded if second in g]
        assert len(prompt) == 1
        assert f"### User:\n{q['turns'][0]}\n\n### Assistant:\n{first}\n\n### User:\n{q['turns'][1]}" in prompt[0]
        if qid in refs:  # the second turn is graded against the reference's second turn
            shown = re.search(r"\[The Start of the Reference \w+\]\n(.*?)\n\[The End of the Reference", prompt[0], re.S)
            assert shown is not None and shown.group(1) == refs[qid][1].strip()

    results, judgments, samples = _read(tmp_path / "r")
    assert len(judgments) == 160 and sum(r["id"].endswith("-turn2") for r in judgments) == 80
    assert all(set(r) >= CONTRACT for r in judgments)
    pass1 = [float("ZEBRA" in a[0]) for a in answers.values()]
    pass2 = [float("ZEBRA" in a[1]) for a in answers.values()]
    metrics = results["benchmarks"]["mt_bench"]["metrics"]
    assert metrics["pass_rate_turn1"]["value"] == sum(pass1) / 80 and metrics["pass_rate_turn1"]["n"] == 80
    assert metrics["pass_rate_turn2"]["value"] == sum(pass2) / 80 and metrics["pass_rate_turn2"]["n"] == 80
    assert metrics["pass_rate"]["value"] == sum((a + b) / 2 for a, b in zip(pass1, pass2)) / 80
    for row in samples:
        qid = int(row["id"].split("-")[1])
        assert (row["output"], row["output_turn2"]) == answers[qid]

    again = run_cli(*args, "--out", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    assert model.stats()["requests"] == 160 and judge.stats()["requests"] == 160  # all from the cache
    assert json.loads((tmp_path / "again" / "results.json").read_text())["benchmarks"] == results["benchmarks"]


def test_jury_and_evalkit_judge_on_a_run_directory(tmp_path, data_dir, fake_server, monkeypatch):
    monkeypatch.setenv("BIASED_JUDGE", "p_first=0.5,tie=0.2")
    server = fake_server("--responder", "evalkit.testing.biased_judge:respond")
    preds = _predictions(data_dir, tmp_path / "preds.jsonl", "alpaca-7b")
    plain = run_cli("run", "--model", f"predictions:{preds}", "--benchmark", "alpaca_eval", "--data-dir",
                    str(data_dir), "--limit", "50", "--out", str(tmp_path / "plain"), "-q")
    assert plain.returncode == 0, plain.stderr
    note = json.loads((tmp_path / "plain" / "results.json").read_text())["benchmarks"]["alpaca_eval"]["judging"]
    assert "no --judge given" in note["note"]
    proc = run_cli("judge", str(tmp_path / "plain"), "--judge", "openai:j1", "--judge", "openai:j2", "--judge",
                   "openai:j3", "--judge-base-url", server.base_url, "--jury", "mean", "-q")
    assert proc.returncode == 0, proc.stderr
    results, judgments, samples = _read(tmp_path / "plain-judged")
    assert {r["model_a"] for r in judgments} == {f"predictions:{preds}"}
    entry = results["benchmarks"]["alpaca_eval"]
    for sample in samples:
        scores = sample["judge_scores"]
        assert sample["scores"]["win_rate"] == sum(scores.values()) / 3
        assert sample["scores"]["win_rate:openai:j2"] == scores["openai:j2"]
    agreement = entry["judging"]["agreement"]
    assert agreement["n_items"] == 50 and set(agreement["cohen_kappa"]) == {"openai:j1|openai:j2", "openai:j1|openai:j3",
                                                                           "openai:j2|openai:j3"}
    # three independent coin-flip judges: κ near 0, and its interval says so
    lo, hi = agreement["fleiss_kappa"]["ci95"]
    assert lo < 0 < hi
    assert set(results["judge_bias"]) == {"openai:j1", "openai:j2", "openai:j3"}


def test_bad_judge_flags_exit_2(tmp_path, data_dir):
    preds = _predictions(data_dir, tmp_path / "p.jsonl")
    common = ["run", "--model", f"predictions:{preds}", "--benchmark", "alpaca_eval", "--data-dir", str(data_dir),
              "--limit", "2", "--out", str(tmp_path / "x"), "--judge", "openai:j"]
    for extra, message in ((["--swap-policy", "sometimes"], "--swap-policy"), (["--jury", "dictator"], "--jury"),
                           (["--judge-template", "nope"], "unknown judge template"),
                           (["--judge-template", "pointwise"], "needs a pairwise template"),
                           (["--judge", "openai:j"], "same judge twice")):
        proc = run_cli(*common, *extra)
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    proc = run_cli("judge", str(tmp_path / "missing"), "--judge", "openai:j")
    assert proc.returncode == 2 and "neither a run directory" in proc.stderr
