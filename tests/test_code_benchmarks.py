"""The `code` kind end to end: HumanEval through `evalkit run` (predictions and a real local OpenAI-protocol
server), MBPP's reference code through the kind, pass@k from N samples, and the opt-in refusal."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from helpers import run_cli

from evalkit.config import RunConfig
from evalkit.errors import ConfigError
from evalkit.sandbox import Limits, Sandbox
from evalkit.scoring.passk import pass_at_k
from evalkit.tasks import load_task
from evalkit.types import GenerateResult


def humaneval(data_dir: Path) -> list[dict]:
    with gzip.open(data_dir / "humaneval" / "HumanEval.jsonl.gz", "rt") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def chat_answer(problem: dict) -> str:
    """How a chat model answers: chatter, then the whole function in a fence, then more chatter."""
    return (f"Here is a correct implementation of `{problem['entry_point']}`:\n\n```python\n"
            f"{problem['prompt']}{problem['canonical_solution']}```\n\nIt handles the edge cases in the docstring.")


def rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


def test_humaneval_canonical_solutions_all_pass(tmp_path, data_dir):
    problems = humaneval(data_dir)
    predictions = tmp_path / "predictions.jsonl"
    with open(predictions, "w") as handle:
        for i, p in enumerate(problems):  # base-model continuations and chat answers, alternately
            handle.write(json.dumps({"id": p["task_id"], "output": p["canonical_solution"] if i % 2 else chat_answer(p)}) + "\n")
    out = tmp_path / "run"
    proc = run_cli("run", "--model", f"predictions:{predictions}", "--benchmark", "humaneval", "--data-dir",
                   str(data_dir), "--out", str(out), "--allow-code-execution", "-q")
    assert proc.returncode == 0, proc.stderr
    entry = json.loads((out / "results.json").read_text())["benchmarks"]["humaneval"]
    assert entry["n"] == 164 and entry["n_errors"] == 0
    assert entry["metrics"]["pass@1"]["value"] == 1.0, [r["id"] for r in rows(out) if not r["passed"]]
    assert entry["failure_kinds"] == {} and entry["samples_per_task"] == 1
    assert entry["sandbox"]["network_isolation"] in ("yes", "no")
    samples = rows(out)
    assert [r["verdicts"][0]["form"] for r in samples[:4]] == ["whole", "body", "whole", "body"]
    assert all(r["passed"] and r["verdicts"][0]["status"] == "passed" for r in samples)


def test_mbpp_reference_code_passes_its_tests(data_dir):
    """Every test task of mbpp (500) and mbpp_sanitized (257). Mbpp/123's reference (amicable numbers
    below 9999, quadratic) needs several CPU seconds, more than the default 10 s wall limit allows on
    a busy machine, so it runs alone with a longer limit."""
    slow = {"Mbpp/123"}
    config = RunConfig(allow_code_execution=True)
    for name, expected in (("mbpp", 500), ("mbpp_sanitized", 257)):
        task = load_task(name, data_dir, config=config)
        assert len(task.samples) == expected
        assert all(11 <= s.metadata["task_id"] <= 510 for s in task.samples)
        quick = [s for s in task.samples if s.id not in slow]
        scored = task.kind.score(quick, [[GenerateResult(text=s.target)] for s in quick], "generate")
        failed = {s.sample.id: s.extra["verdicts"] for s in scored if s.scores["pass@1"] != 1.0}
        assert failed == {}, failed
        with Sandbox(Limits(wall_seconds=120, cpu_seconds=120)) as patient:
            for sample in (s for s in task.samples if s.id in slow):
                program, form = task.kind.program(sample, sample.target)
                assert form == "whole" and patient.run(program).passed, sample.id


def test_mbpp_prompt_is_three_shot_with_tasks_2_to_4_and_shows_the_tests(data_dir):
    task = load_task("mbpp", data_dir, limit=1, config=RunConfig(allow_code_execution=True))
    (request,) = task.kind.requests(task.samples[0], "generate")
    turns = request.messages
    assert [role for role, _ in turns] == ["user", "assistant"] * 3 + ["user"]
    assert "similar elements" in turns[0][1] and "assert similar_elements(" in turns[0][1]
    assert turns[1][1].startswith("```python\ndef similar_elements")
    assert "remove first and last occurrence" in turns[-1][1] and 'assert remove_Occ("hello","l") == "heo"' in turns[-1][1]


def test_execution_needs_explicit_consent_before_any_model_call(tmp_path, data_dir, fake_server):
    server = fake_server()
    proc = run_cli("run", "--model", "openai:fake", "--base-url", server.base_url, "--benchmark", "humaneval",
                   "--data-dir", str(data_dir), "--out", str(tmp_path / "run"), "-q")
    assert proc.returncode == 2
    assert "--allow-code-execution" in proc.stderr and "Traceback" not in proc.stderr
    assert server.stats()["requests"] == 0
    with pytest.raises(ConfigError, match="--temperature"):
        load_task("humaneval", data_dir, config=RunConfig(allow_code_execution=True, samples_per_task=5))


def test_pass_at_k_from_ten_samples_through_a_real_server(tmp_path, data_dir, fake_server):
    """Ten replicas per task, each answered by seed: task i gets i correct answers of 10 (mixed forms)
    and the rest wrong in different ways; pass@1 and pass@10 must follow the estimator exactly."""
    problems = humaneval(data_dir)[:6]
    wrong = ["    return None\n", "```python\ndef {ep}(*args):\n    raise ValueError('no')\n```", "    while True:\n        pass\n",
             "I am not able to solve this."]
    answers = tmp_path / "answers.jsonl"
    with open(answers, "w") as handle:
        for i, p in enumerate(problems):
            right = [chat_answer(p), p["canonical_solution"]]
            outputs = [right[j % 2] if j < i * 2 else wrong[j % len(wrong)].format(ep=p["entry_point"]) for j in range(10)]
            handle.write(json.dumps({"match": p["prompt"], "outputs": outputs}) + "\n")
    server = fake_server("--answers", str(answers))
    out = tmp_path / "run"
    spec = tmp_path / "humaneval_fast.yaml"  # the bundled spec with a short timeout for the looping answers
    spec.write_text((Path(__file__).resolve().parents[1] / "benchmarks" / "humaneval.yaml").read_text()
                    .replace("name: humaneval", "name: humaneval_fast").replace("timeout: 10", "timeout: 1"))
    proc = run_cli("run", "--model", "openai:fake", "--base-url", server.base_url, "--benchmark", str(spec),
                   "--data-dir", str(data_dir), "--limit", "6", "--samples-per-task", "10", "--temperature", "0.8",
                   "--out", str(out), "--allow-code-execution", "-q")
    assert proc.returncode == 0, proc.stderr
    assert server.stats()["completed"] == 60
    samples = rows(out)
    for i, row in enumerate(samples):
        c = min(i * 2, 10)
        assert row["n_passed"] == c and row["n_samples"] == 10, (row["id"], row["verdicts"])
        assert row["scores"] == {"pass@1": pytest.approx(pass_at_k(10, c, 1)), "pass@10": pass_at_k(10, c, 10)}
    kinds = {k for row in samples for k in row["failure_kinds"]}
    assert {"timeout", "exception:ValueError", "syntax_error"} <= kinds, kinds
    entry = json.loads((out / "results.json").read_text())["benchmarks"]["humaneval_fast"]
    expected = [min(i * 2, 10) / 10 for i in range(6)]
    assert entry["metrics"]["pass@1"]["value"] == pytest.approx(sum(expected) / 6)
    assert entry["metrics"]["pass@10"]["value"] == pytest.approx(5 / 6)
    lo, hi = entry["metrics"]["pass@1"]["ci95"]
    assert lo < entry["metrics"]["pass@1"]["value"] < hi
    assert entry["samples_per_task"] == 10


def test_base_model_continuations_through_the_completions_endpoint(tmp_path, data_dir, fake_server):
    """A base model behind /v1/completions continues the raw prompt and runs on past the function (the
    fake server ignores stop sequences, as some servers do): the answer is cut at the stops and passes."""
    problems = humaneval(data_dir)[:8]
    answers = tmp_path / "answers.jsonl"
    with open(answers, "w") as handle:
        for p in problems:
            ramble = p["canonical_solution"] + "\n\ndef test():\n    assert False\n\ntest()\nprint('done')\n"
            handle.write(json.dumps({"match": p["prompt"], "output": ramble}) + "\n")
    server = fake_server("--answers", str(answers))
    spec = tmp_path / "humaneval_base.yaml"
    text = (Path(__file__).resolve().parents[1] / "benchmarks" / "humaneval.yaml").read_text()
    prompt_start, prompt_end = text.index("prompt:\n  style: chat"), text.index("generation:")
    spec.write_text(text[:prompt_start].replace("name: humaneval", "name: humaneval_base")
                    + 'prompt:\n  style: plain\n  template: "{{ input }}"\n' + text[prompt_end:]
                    .replace("  temperature: 0.0\n", '  temperature: 0.0\n  stop: ["\\nclass", "\\ndef", "\\n#", "\\nif", "\\nprint"]\n'))
    out = tmp_path / "run"
    proc = run_cli("run", "--model", "openai-completions:fake", "--base-url", server.base_url, "--benchmark",
                   str(spec), "--data-dir", str(data_dir), "--limit", "8", "--out", str(out),
                   "--allow-code-execution", "-q")
    assert proc.returncode == 0, proc.stderr
    assert [r["verdicts"][0]["form"] for r in rows(out)] == ["body"] * 8
    entry = json.loads((out / "results.json").read_text())["benchmarks"]["humaneval_base"]
    assert entry["metrics"]["pass@1"]["value"] == 1.0, rows(out)
