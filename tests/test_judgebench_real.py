"""JudgeBench judged by a real model: SmolLM2-135M-Instruct (the embedded weights) chooses between the
two responses of real JudgeBench pairs in both orders, its choices written as JudgeBench judge outputs;
`evalkit bias --judgments` must equal the recount by JudgeBench's rule (``test_judgebench.recount``).

The judge: after the question and both responses it compares the log-probabilities of " A" and " B"
as the next token, calibrated by their median difference over all its calls (contextual calibration:
uncalibrated, this model answers "A" every time), a tie when within 0.05 nats of it — a real,
position-sensitive judge, as small models are. Five pairs per category keep it to a couple of minutes
on two busy cores.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from helpers import run_cli
from test_judgebench import PAIRS, category, recount

from evalkit.backends.factory import BackendOptions
from evalkit.backends.hf import HFBackend
from evalkit.types import LoglikelihoodRequest

pytestmark = pytest.mark.slow
PER_CATEGORY = 5


def _context(question: str, first: str, second: str) -> str:
    return (f"Question:\n{question[:700]}\n\nResponse A:\n...{first[-450:]}\n\nResponse B:\n...{second[-450:]}\n\n"
            "Which response answers the question correctly, A or B?\nAnswer: Response")


def test_real_judge_on_judgebench_pairs(tmp_path, data_dir):
    chosen, count = [], defaultdict(int)
    for line in (data_dir / PAIRS).read_text().splitlines():
        pair = json.loads(line)
        if count[category(pair["source"])] < PER_CATEGORY:
            count[category(pair["source"])] += 1
            chosen.append(pair)
    judge = HFBackend("embedded", BackendOptions(batch_size=8))
    requests = []
    for pair in chosen:
        for first, second in ((pair["response_A"], pair["response_B"]), (pair["response_B"], pair["response_A"])):
            context = _context(pair["question"], first, second)
            requests += [LoglikelihoodRequest(context, " A"), LoglikelihoodRequest(context, " B")]
    results = dict(judge.call_batch(requests))
    logprobs = [results[i].logprob for i in range(len(requests))]
    diffs = sorted(logprobs[i] - logprobs[i + 1] for i in range(0, len(logprobs), 2))
    bias = (diffs[len(diffs) // 2 - 1] + diffs[len(diffs) // 2]) / 2
    outputs = []
    for k, pair in enumerate(chosen):
        judgments = []
        for order in range(2):
            a, b = logprobs[4 * k + 2 * order], logprobs[4 * k + 2 * order + 1]
            margin = a - b - bias
            decision = "A>B" if margin > 0.05 else "B>A" if margin < -0.05 else "A=B"
            judgments.append({"judgment": {"judge_model": "SmolLM2-135M-Instruct", "logprob_A": a, "logprob_B": b},
                              "decision": decision})
        outputs.append({**pair, "judge_name": "logprob_choice", "judgments": judgments})
    path = tmp_path / "dataset=judgebench,judge_name=logprob_choice,judge_model=SmolLM2-135M-Instruct.jsonl"
    path.write_text("".join(json.dumps(o) + "\n" for o in outputs))
    expected = recount(outputs)

    proc = run_cli("bias", "--judgments", str(path), "--resamples", "100", "--out", str(tmp_path / "audit"))
    assert proc.returncode == 0, proc.stderr
    audit = json.loads((tmp_path / "audit" / "bias.json").read_text())["judge_bias"][
        "logprob_choice:SmolLM2-135M-Instruct"]
    assert audit["agreement"]["accuracy_sum"]["value"] == expected["all"]
    for name in ("knowledge", "reasoning", "math", "coding"):
        assert audit["agreement"]["by_category"][name]["sum"]["value"] == expected[name]
    position = audit["position"]
    assert position["consistency"]["value"] == expected["consistent"]
    assert position["favours_first"]["value"] == expected["first"]
    assert position["favours_second"]["value"] == expected["second"]
    assert position["first_position_share"]["value"] == expected["strict_first"]
    assert position["second_position_share"]["value"] == expected["strict_second"]
    decisions = [j["decision"] for o in outputs for j in o["judgments"]]
    assert decisions.count("A>B") >= 5 and decisions.count("B>A") >= 5  # a judge, not a constant
    print(json.dumps({k: round(v, 4) for k, v in expected.items()}))
