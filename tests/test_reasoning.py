"""Reasoning models: the thinking is set apart before extraction and kept; a reply cut off while thinking
(or at the token limit before an answer) is counted truncated and scored as failed, never parsed.

End to end through ``--model predictions:`` and through the fake OpenAI server returning
``reasoning_content`` (as vLLM and DeepSeek do); the request parameters a reasoning model needs are
checked in the bodies the server received.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_cli

from evalkit.scoring.reasoning import split_reasoning, split_reply
from evalkit.types import GenerateResult

GSM8K_SEVEN = 18  # line 18 of gsm8k/test.jsonl is the first item whose answer is 7


def _gsm8k(data_dir: Path, index: int) -> dict:
    return json.loads((data_dir / "gsm8k" / "test.jsonl").read_text().splitlines()[index])


def test_seven_is_the_target_of_the_chosen_item(data_dir):
    assert _gsm8k(data_dir, GSM8K_SEVEN)["answer"].split("####")[-1].strip() == "7"


@pytest.mark.parametrize(("text", "answer", "reasoning", "closed"), [
    ("<think>the answer is 5</think>The answer is 7", "The answer is 7", "the answer is 5", True),
    ("  <think>\nlong\n</think>\n\n#### 7", "#### 7", "long", True),
    ("<thinking>a</thinking>b", "b", "a", True),
    ("<think>I keep thinking… 5 6 7", "", "I keep thinking… 5 6 7", False),
    ("the template opened it</think>#### 7", "#### 7", "the template opened it", True),
    ("#### 7, no reasoning at all", "#### 7, no reasoning at all", None, True),
    ("I wrote <think> later</think> 3", "I wrote <think> later</think> 3", None, True),  # not a leading block
])
def test_split_reasoning(text, answer, reasoning, closed):
    assert split_reasoning(text) == (answer, reasoning, closed)


def test_token_limit_truncates_only_without_an_answer():
    cut = split_reply(GenerateResult(text="Let me compute 3 + 4 and then", finish_reason="length"))
    assert cut.truncation(answer_found=False) == "token limit"
    assert cut.truncation(answer_found=True) is None  # answered, then ran on: scored
    unclosed = split_reply(GenerateResult(text="<think>7", finish_reason="stop"))
    assert unclosed.answer == "" and unclosed.truncation(answer_found=True) == "unclosed reasoning"
    server_side = split_reply(GenerateResult(text="#### 7", reasoning="the answer is 5"))
    assert server_side.answer == "#### 7" and server_side.reasoning == "the answer is 5"


def _rows(out: Path) -> dict[str, dict]:  # one benchmark per run
    return {r["id"]: r for r in map(json.loads, (out / "samples.jsonl").read_text().splitlines())}


def test_think_block_through_predictions(tmp_path, data_dir):
    seven = f"gsm8k-{GSM8K_SEVEN}"
    assert _gsm8k(data_dir, 1)["answer"].split("####")[-1].strip() == "3"
    filler = [{"id": f"gsm8k-{i}", "output": "#### -1\nThe answer is -1."} for i in range(2, GSM8K_SEVEN)]
    rows = filler + [
        {"benchmark": "gsm8k", "id": seven, "output": "<think>the answer is 5</think>The answer is 7"},
        # strict takes the first "The answer is N.": only after the thinking is set apart is that 7
        {"benchmark": "gsm8k_cot", "id": seven, "output": "<think>The answer is 5.</think> The answer is 7."},
        {"id": "gsm8k-0", "output": "<think>I keep thinking… so far 18 eggs"},
        # cut at the token limit, but it had written its answer (gold 3): scored, not truncated
        {"id": "gsm8k-1", "output": "So 2 + 1 = 3. The answer is 3. Let me check ag", "finish_reason": "length"},
    ]
    predictions = tmp_path / "p.jsonl"
    predictions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "run"
    proc = run_cli("run", "--model", f"predictions:{predictions}", "--benchmark", "gsm8k,gsm8k_cot", "--limit", "19",
                   "--data-dir", str(data_dir), "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    samples = {(r["benchmark"], r["id"]): r for r in map(json.loads, (out / "samples.jsonl").read_text().splitlines())}
    zero_shot, cot = samples[("gsm8k", seven)], samples[("gsm8k_cot", seven)]
    assert zero_shot["scores"]["exact_match_flexible"] == 1.0 and zero_shot["reasoning"] == "the answer is 5"
    assert cot["scores"] == {"exact_match_strict": 1.0, "exact_match_flexible": 1.0, "truncated": 0.0}
    assert cot["extracted"]["strict"] == "7"
    for benchmark in ("gsm8k", "gsm8k_cot"):
        unclosed = samples[(benchmark, "gsm8k-0")]
        assert unclosed["scores"] == {"exact_match_strict": 0.0, "exact_match_flexible": 0.0, "truncated": 1.0}
        assert unclosed["truncated"] == "unclosed reasoning" and unclosed["extracted"]["flexible"] is None
        assert unclosed["reasoning"] == "I keep thinking… so far 18 eggs"
        assert samples[(benchmark, "gsm8k-1")]["truncated"] is None
        assert samples[(benchmark, "gsm8k-1")]["finish_reason"] == "length"
    results = json.loads((out / "results.json").read_text())["benchmarks"]
    for benchmark in ("gsm8k", "gsm8k_cot"):
        assert results[benchmark]["n_truncated"] == 1
        assert results[benchmark]["metrics"]["truncated"]["value"] == pytest.approx(1 / 19)
        assert results[benchmark]["metrics"]["exact_match_flexible"]["value"] == pytest.approx(2 / 19)  # 18 and 1
    assert results["gsm8k_cot"]["metrics"]["exact_match_strict"]["value"] == pytest.approx(2 / 19)


def test_reasoning_content_through_the_fake_server(tmp_path, data_dir, fake_server):
    seven, unfinished = _gsm8k(data_dir, GSM8K_SEVEN), _gsm8k(data_dir, 0)
    answers = tmp_path / "answers.jsonl"
    answers.write_text("".join(json.dumps(e) + "\n" for e in [
        # a server that returns the thinking apart (reasoning_content), and the answer as content
        {"match": seven["question"], "output": "The answer is 7", "reasoning": "the answer is 5 or so"},
        # cut off while thinking: no content at all, finish_reason "length"
        {"match": unfinished["question"], "output": "", "reasoning": "I keep thinking… 18", "finish_reason": "length"},
    ]))
    server = fake_server("--answers", str(answers), "--default-reply", "#### -1")
    out = tmp_path / "run"
    proc = run_cli("run", "--model", "openai:fake", "--base-url", server.base_url, "--benchmark", "gsm8k",
                   "--limit", "19", "--data-dir", str(data_dir), "--out", str(out), "-q",
                   "--max-tokens", "7000", "--reasoning-effort", "high", "--max-completion-tokens")
    assert proc.returncode == 0, proc.stderr
    samples = _rows(out)
    assert samples[f"gsm8k-{GSM8K_SEVEN}"]["scores"]["exact_match_flexible"] == 1.0
    assert samples[f"gsm8k-{GSM8K_SEVEN}"]["reasoning"] == "the answer is 5 or so"
    assert samples["gsm8k-0"]["scores"]["truncated"] == 1.0 and samples["gsm8k-0"]["truncated"] == "token limit"
    assert samples["gsm8k-0"]["reasoning"] == "I keep thinking… 18"
    results = json.loads((out / "results.json").read_text())["benchmarks"]["gsm8k"]
    assert results["n_truncated"] == 1
    bodies = server.bodies()
    assert all(b["max_completion_tokens"] == 7000 and "max_tokens" not in b and b["reasoning_effort"] == "high"
               for b in bodies)
    manifest = json.loads((out / "manifest.json").read_text())
    # the fake server counts one token per word of reasoning_content: 6 + 4
    assert manifest["execution"]["reasoning_tokens"] == 10
    assert manifest["model"]["reasoning_effort"] == "high"


def test_bad_reasoning_effort_is_one_line(tmp_path, data_dir):
    proc = run_cli("run", "--model", "openai:fake", "--base-url", "http://127.0.0.1:9/v1", "--benchmark", "gsm8k",
                   "--reasoning-effort", "extreme", "--data-dir", str(data_dir), "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "--reasoning-effort must be one of" in proc.stderr
    assert "Traceback" not in proc.stderr
