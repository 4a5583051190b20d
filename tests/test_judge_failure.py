"""A run whose judge answered nothing usable is a failed run: exit 1 with the reason, outputs kept."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from helpers import run_cli


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _predictions(data_dir: Path, path: Path) -> Path:
    """Every AlpacaEval answer of claude-2.1 (``--limit`` picks which items run)."""
    rows = json.loads((data_dir / "alpaca_eval/results/claude-2.1/model_outputs.json").read_text())
    path.write_text("".join(json.dumps({"id": f"alpaca_eval-{i}", "output": r["output"]}) + "\n"
                            for i, r in enumerate(rows)))
    return path


def test_unparseable_judge_fails_the_run(tmp_path, data_dir, fake_server, monkeypatch):
    monkeypatch.setenv("BIASED_JUDGE", "invalid=1,stubborn=1")  # every reply and every reminder unusable
    server = fake_server("--responder", "evalkit.testing.biased_judge:respond")
    preds = _predictions(data_dir, tmp_path / "preds.jsonl")
    out = tmp_path / "run"
    proc = run_cli("run", "--model", f"predictions:{preds}", "--benchmark", "alpaca_eval", "--data-dir",
                   str(data_dir), "--limit", "6", "--judge", "openai:weak", "--judge-base-url", server.base_url,
                   "--out", str(out), "-q")
    assert proc.returncode == 1, proc.stderr
    assert "judge openai:weak answered nothing usable: all 6 judgments are invalid" in proc.stderr
    assert "text after the verdict" in proc.stderr and "Traceback" not in proc.stderr
    rows = [json.loads(line) for line in (out / "judgments.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and not any(r["valid"] for r in rows)  # the evidence is kept


def test_unreachable_judge_fails_run_judge_and_bias(tmp_path, data_dir):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    preds = _predictions(data_dir, tmp_path / "preds.jsonl")
    proc = run_cli("judge", str(preds), "--benchmark", "alpaca_eval", "--judge", "openai:gone", "--judge-base-url",
                   url, "--max-retries", "0", "--timeout", "5", "--limit", "3", "--out", str(tmp_path / "j"), "-q")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "judge openai:gone answered nothing usable" in proc.stderr and "judge call failed" in proc.stderr
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"prompt": f"q{i}", "response_a": "a", "response_b": "b"}) + "\n"
                             for i in range(3)))
    live = run_cli("bias", "--pairs", str(pairs), "--judge", "openai:gone", "--judge-base-url", url,
                   "--padding-probe", "0", "--timeout", "5", "--out", str(tmp_path / "b"), "-q")
    assert live.returncode == 1 and "answered nothing usable: all 6 judgments" in live.stderr, live.stderr


def test_mt_bench_against_a_judge_that_never_gives_a_verdict(tmp_path, data_dir, fake_server, monkeypatch):
    """The issue's case: MT-Bench with a weak judge, all 10 judgments invalid, used to exit 0."""
    monkeypatch.setenv("BIASED_JUDGE", "invalid=1,stubborn=1")
    server = fake_server("--responder", "evalkit.testing.biased_judge:respond")
    questions = [json.loads(line) for line in (data_dir / "mt_bench/question.jsonl").read_text().splitlines()]
    preds = tmp_path / "mt.jsonl"
    preds.write_text("".join(json.dumps({"id": f"mt_bench-{q['question_id']}", "output": "An answer."}) + "\n"
                             for q in questions))
    proc = run_cli("run", "--model", f"predictions:{preds}", "--benchmark", "mt_bench", "--data-dir", str(data_dir),
                   "--limit", "10", "--judge", "openai:weak", "--judge-base-url", server.base_url,
                   "--out", str(tmp_path / "r"), "-q")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "judge openai:weak answered nothing usable: all 10 judgments are invalid" in proc.stderr
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["benchmarks"]["mt_bench"]["metrics"]["pass_rate"]["n"] == 0
