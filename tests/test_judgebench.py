"""JudgeBench: its judge-output files read directly, its score recounted by the paper's own rule,
and its pair files judged live over real HTTP.

JudgeBench (Tan et al. 2024) judges every pair twice, the second time with the responses swapped. A
decision is "A>B", "B>A" or "A=B" (or missing); the swapped order's decision is mirrored back to the
original positions. Each order then scores +1 when it names the labelled response, −1 when it names
the other and 0 otherwise, and a pair counts as correct when the sum is positive; the score is the
share of correct pairs among all pairs, overall and per category (knowledge = MMLU-Pro, reasoning,
math = LiveBench, coding = LiveCodeBench).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from helpers import run_cli

PAIRS = "judgebench/judgebench_claude-3-5-sonnet-20240620.jsonl"
MIRROR = {"A>B": "B>A", "B>A": "A>B"}


def category(source: str) -> str:
    for prefix, name in (("mmlu-pro", "knowledge"), ("livebench-reasoning", "reasoning"),
                         ("livebench-math", "math"), ("livecodebench", "coding")):
        if source.startswith(prefix):
            return name
    raise AssertionError(source)


def recount(outputs: list[dict]) -> dict:
    """JudgeBench's figures from its own output records, by the rule in the module docstring."""
    correct: dict[str, list[int]] = defaultdict(list)
    lean = {"first": 0, "second": 0, "consistent": 0, "strict_first": 0, "strict_second": 0, "both": 0}
    for pair in outputs:
        first, second = (j["decision"] if j is not None else None for j in pair["judgments"])
        label = pair["label"]
        votes = 0
        for decision in (first, MIRROR.get(second, second)):
            votes += 1 if decision == label else -1 if decision == MIRROR[label] else 0
        correct["all"].append(votes > 0)
        correct[category(pair["source"])].append(votes > 0)
        if first is not None and second is not None:  # position shares: pairs with both verdicts
            slot = {"A>B": 1, "B>A": -1, "A=B": 0}
            total = slot[first] + slot[second]
            lean["both"] += 1
            lean["first" if total > 0 else "second" if total < 0 else "consistent"] += 1
            lean["strict_first"] += first == second == "A>B"
            lean["strict_second"] += first == second == "B>A"
    figures = {name: sum(v) / len(v) for name, v in correct.items()}
    figures.update({k: lean[k] / lean["both"] for k in lean if k != "both"})
    figures["n_both"] = lean["both"]
    return figures


def _biased_judge(monkeypatch, fake_server, settings: str):
    monkeypatch.setenv("BIASED_JUDGE", settings)
    return fake_server("--responder", "evalkit.testing.biased_judge:respond")


def _judge_live(tmp_path: Path, data_dir: Path, server, judge: str) -> tuple[dict, list[dict]]:
    out = tmp_path / "live"
    proc = run_cli("bias", "--pairs", str(data_dir / PAIRS), "--judge", judge, "--judge-base-url", server.base_url,
                   "--padding-probe", "0", "--resamples", "200", "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    section = json.loads((out / "bias.json").read_text())["judge_bias"][judge]
    return section, [json.loads(line) for line in (out / "judgments.jsonl").read_text().splitlines()]


def _as_judgebench_outputs(data_dir: Path, rows: list[dict], judge_model: str) -> list[dict]:
    """The live verdicts written as JudgeBench's run_judge.py writes them (original order first)."""
    by_pair = defaultdict(dict)
    for row in rows:
        by_pair[row["id"]][row["order"]] = row
    decision = {"A": "A>B", "B": "B>A", "TIE": "A=B", None: None}
    outputs = []
    for number, line in enumerate((data_dir / PAIRS).read_text().splitlines()):
        pair = json.loads(line)
        orders = by_pair[pair["pair_id"]]
        judgments = [{"judgment": {"judge_model": judge_model, "response": orders[o]["rationale"]},
                      "decision": decision[orders[o]["verdict"]]} for o in ("ab", "ba")]
        if number % 37 == 5:
            judgments[1] = None  # JudgeBench records a failed call as null
        outputs.append({**pair, "judge_name": "arena_hard", "judgments": judgments})
    return outputs


def test_judgebench_outputs_scored_by_judgebench_rule(tmp_path, data_dir, fake_server, monkeypatch):
    server = _biased_judge(monkeypatch, fake_server, "p_first=0.65,tie=0.2,invalid=0.1,stubborn=1")
    live, rows = _judge_live(tmp_path, data_dir, server, "openai:claude-3-haiku")
    outputs = _as_judgebench_outputs(data_dir, rows, "claude-3-haiku")
    path = tmp_path / "dataset=judgebench,judge_name=arena_hard,judge_model=claude-3-haiku.jsonl"
    path.write_text("".join(json.dumps(o) + "\n" for o in outputs))
    expected = recount(outputs)
    assert 0.6 < expected["n_both"] / len(outputs) < 0.95  # invalid and null judgments are really there

    proc = run_cli("bias", "--judgments", str(path), "--resamples", "200", "--out", str(tmp_path / "audit"))
    assert proc.returncode == 0, proc.stderr
    section = json.loads((tmp_path / "audit" / "bias.json").read_text())["judge_bias"]
    audit = section["arena_hard:claude-3-haiku"]
    agreement, position = audit["agreement"], audit["position"]
    assert agreement["accuracy_sum"]["value"] == expected["all"] and agreement["accuracy_sum"]["n"] == 270
    for name in ("knowledge", "reasoning", "math", "coding"):
        assert agreement["by_category"][name]["sum"]["value"] == expected[name], name
    assert position["consistency"]["value"] == expected["consistent"]
    assert position["favours_first"]["value"] == expected["first"]
    assert position["favours_second"]["value"] == expected["second"]
    assert position["first_position_share"]["value"] == expected["strict_first"]
    assert position["second_position_share"]["value"] == expected["strict_second"]
    assert position["consistency"]["n"] == expected["n_both"]
    total = expected["first"] + expected["second"] + expected["consistent"]
    assert abs(total - 1) < 1e-12
    # a first-slot lean that includes tie-vs-win pairs is larger than the strict both-orders share
    assert expected["first"] > expected["strict_first"]
    for value in (expected["all"], expected["knowledge"], expected["coding"], expected["first"]):
        assert f"{value:.4f}" in proc.stdout  # printed, not only written
    # the same verdicts read from evalkit's own judgments.jsonl give the same JudgeBench score, apart
    # from the null judgments the JudgeBench file adds
    assert live["agreement"]["by_category"].keys() == agreement["by_category"].keys()


def test_judgebench_pairs_live_score_by_category(tmp_path, data_dir, fake_server, monkeypatch):
    server = _biased_judge(monkeypatch, fake_server, "q_longer=0.5,tie=0.1")
    section, rows = _judge_live(tmp_path, data_dir, server, "openai:len-judge")
    assert len(rows) == 2 * 270 and {r["category"] for r in rows} == {"knowledge", "reasoning", "math", "coding"}
    pairs = {json.loads(line)["pair_id"]: json.loads(line) for line in (data_dir / PAIRS).read_text().splitlines()}
    votes = defaultdict(int)
    for row in rows:
        gold = "response_A" if pairs[row["id"]]["label"] == "A>B" else "response_B"
        if row["valid"] and row["winner"] != "tie":
            votes[row["id"]] += 1 if row["winner"] == gold else -1
    per = defaultdict(list)
    for pair_id, pair in pairs.items():
        per[category(pair["source"])].append(votes[pair_id] > 0)
    for name, outcomes in per.items():
        figure = section["agreement"]["by_category"][name]["sum"]
        assert figure["value"] == sum(outcomes) / len(outcomes) and figure["n"] == len(outcomes)
        lo, hi = figure["ci95"]
        assert lo < figure["value"] < hi
    assert section["agreement"]["accuracy_sum"]["n"] == 270
