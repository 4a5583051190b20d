"""The knobs lm-eval users reach for: per-benchmark and stratified --limit, --num-fewshot, --system-prompt,
--gen-kwargs, --fewshot-as-multiturn — each recorded, each changing comparability in the gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.errors import ConfigError
from evalkit.specs.overrides import parse_gen_kwargs, parse_limits
from evalkit.tasks import stratified
from evalkit.types import Sample
from tests.helpers import run_cli


def _rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


def _run(server, data_dir: Path, out: Path, *args: str):
    proc = run_cli("run", "--model", "openai:fake", "--base-url", server.base_url, "--data-dir", str(data_dir),
                   "--out", str(out), "--no-cache", "-q", *args)
    return proc


def test_parsers():
    assert parse_limits("50") == (50, {})
    assert parse_limits("gsm8k=5, mmlu=200") == (None, {"gsm8k": 5, "mmlu": 200})
    for bad in ("0", "gsm8k=", "gsm8k=x", "=3"):
        with pytest.raises(ConfigError):
            parse_limits(bad)
    assert parse_gen_kwargs('max_tokens=64,temperature=0.7,stop=["\\n\\n", "Q:"]') == {
        "max_tokens": 64, "temperature": 0.7, "stop": ["\n\n", "Q:"]}
    assert parse_gen_kwargs("stop=END") == {"stop": ["END"]}
    with pytest.raises(ConfigError, match="unknown generation setting 'max_token'.*did you mean 'max_tokens'"):
        parse_gen_kwargs("max_token=5")
    with pytest.raises(ConfigError, match="top_p"):
        parse_gen_kwargs("top_p=1.5")


def test_stratified_limit_takes_one_group_at_a_time():
    samples = [Sample(id=f"{g}{i}", input="", target="", metadata={"subject": g}) for g in "abc" for i in range(5)]
    picked = stratified(samples, 4, "subject")
    assert [s.id for s in picked] == ["a0", "a1", "b0", "c0"]  # a, b, c, then a again; data order kept
    assert [s.id for s in stratified(samples, 4, None)] == ["a0", "a1", "a2", "a3"]


def test_per_benchmark_limits_and_mmlu_limit_spreads_over_subjects(tmp_path, data_dir, fake_server):
    server = fake_server()
    proc = _run(server, data_dir, tmp_path / "a", "--benchmark", "gsm8k,arc_challenge", "--limit", "gsm8k=5,arc_challenge=10")
    assert proc.returncode == 0, proc.stderr
    rows = _rows(tmp_path / "a")
    assert sum(r["benchmark"] == "gsm8k" for r in rows) == 5 and sum(r["benchmark"] == "arc_challenge" for r in rows) == 10
    config = json.loads((tmp_path / "a" / "manifest.json").read_text())["config"]
    assert config["limits"] == {"gsm8k": 5, "arc_challenge": 10}
    proc = _run(server, data_dir, tmp_path / "m", "--benchmark", "mmlu", "--limit", "20")
    assert proc.returncode == 0, proc.stderr
    assert len({r["metadata"]["subject"] for r in _rows(tmp_path / "m")}) == 20
    bad = _run(server, data_dir, tmp_path / "bad", "--benchmark", "gsm8k", "--limit", "mmlu=5")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "--limit names mmlu" in bad.stderr


def test_prompt_and_generation_overrides_reach_the_request(tmp_path, data_dir, fake_server):
    server = fake_server()
    system = tmp_path / "system.txt"
    system.write_text("You are terse.")
    proc = _run(server, data_dir, tmp_path / "o", "--benchmark", "mmlu", "--mode", "generate", "--limit", "2", "--num-fewshot", "2",
                "--system-prompt", f"@{system}", "--gen-kwargs", "max_tokens=64,temperature=0", "--no-fewshot-as-multiturn")
    assert proc.returncode == 0, proc.stderr
    body = server.bodies()[-1]
    assert body["max_tokens"] == 64 and body["temperature"] == 0.0
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user"] and body["messages"][0]["content"] == "You are terse."
    assert body["messages"][1]["content"].count("Answer:") == 3  # two examples and the question, in one turn
    proc = _run(server, data_dir, tmp_path / "turns", "--benchmark", "mmlu", "--mode", "generate", "--limit", "2",
                "--num-fewshot", "2")
    assert proc.returncode == 0, proc.stderr
    assert [m["role"] for m in server.bodies()[-1]["messages"]] == ["system", "user", "assistant", "user", "assistant", "user"]
    # a different few-shot count is a different experiment: the gate refuses to compare the runs
    gate = run_cli("gate", "--baseline", str(tmp_path / "o"), "--candidate", str(tmp_path / "turns"))
    assert gate.returncode == 1 and "comparable" in (gate.stdout + gate.stderr).lower()


def test_bad_overrides_are_one_line_exit_2(tmp_path, data_dir, fake_server):
    server = fake_server()
    for args, message in ((["--gen-kwargs", "temprature=0.5"], "did you mean 'temperature'"),
                          (["--num-fewshot", "3"], "has no few-shot pool"),
                          (["--system-prompt", "@/no/such/file"], "cannot read")):
        proc = _run(server, data_dir, tmp_path / "x", "--benchmark", "gsm8k", "--limit", "1", *args)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip().count("\n") == 0 and message in proc.stderr, proc.stderr
    assert server.stats()["completed"] == 0


def test_retry_reasks_only_the_errored_samples(tmp_path, data_dir, fake_server):
    from tests.helpers import gsm8k_answers

    server = fake_server("--answers", str(gsm8k_answers(data_dir, tmp_path / "a.jsonl")), "--fault-rate", "0.3",
                         "--faults", "500", "--seed", "3")
    out = tmp_path / "run"
    first = _run(server, data_dir, out, "--benchmark", "gsm8k", "--limit", "40", "--max-retries", "0")
    assert first.returncode == 1  # errored samples exceed --max-error-rate 0
    errored = [r["id"] for r in _rows(out) if r["error"]]
    assert 0 < len(errored) < 40
    before = server.stats()["completed"]
    again = run_cli("retry", str(out), "--max-retries", "8", "-q")
    assert again.returncode == 0, again.stderr
    assert server.stats()["completed"] - before == len(errored)  # only the errored ones were asked again
    rows = _rows(out)
    assert not any(r["error"] for r in rows) and len(rows) == 40
    assert all(r["scores"]["exact_match_strict"] == 1.0 for r in rows)
    assert run_cli("retry", str(out)).stdout.strip().endswith("nothing to retry")
    assert run_cli("retry", str(tmp_path / "missing")).returncode == 2
