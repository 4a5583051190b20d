"""`evalkit run` end to end against a real local HTTP server speaking the OpenAI protocol."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import gsm8k_answers, run_cli


def _samples(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


def test_gsm8k_scores_and_rerun_makes_zero_calls(tmp_path, data_dir, fake_server):
    answers = gsm8k_answers(data_dir, tmp_path / "answers.jsonl", wrong_every=4)
    server = fake_server("--answers", str(answers))
    args = ["run", "--model", "openai:fake", "--base-url", server.base_url, "--benchmark", "gsm8k",
            "--limit", "40", "--data-dir", str(data_dir), "-q"]
    first = run_cli(*args, "--out", str(tmp_path / "a"))
    assert first.returncode == 0, first.stderr
    results = json.loads((tmp_path / "a" / "results.json").read_text())["benchmarks"]["gsm8k"]
    assert results["n"] == 40 and results["n_errors"] == 0
    # every 4th answer is wrong by construction: 30 of 40 right
    assert results["metrics"]["exact_match_strict"]["value"] == 30 / 40
    lo, hi = results["metrics"]["exact_match_strict"]["ci95"]
    assert lo < 0.75 < hi
    assert server.stats()["completed"] == 40
    rows = _samples(tmp_path / "a")
    assert {r["id"] for r in rows} == {f"gsm8k-{i}" for i in range(40)}
    assert all(set(r) >= {"benchmark", "id", "input", "output", "target", "scores", "error"} for r in rows)

    # a second run (new run dir, shared cache) asks the server nothing
    second = run_cli(*args, "--out", str(tmp_path / "b"))
    assert second.returncode == 0, second.stderr
    assert server.stats()["requests"] == 40
    assert json.loads((tmp_path / "b" / "results.json").read_text())["benchmarks"]["gsm8k"] == results
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["execution"]["model_calls"] == 0 and manifest["execution"]["cache_hits"] == 40


def test_faults_are_retried_and_nothing_is_lost(tmp_path, data_dir, fake_server):
    answers = gsm8k_answers(data_dir, tmp_path / "answers.jsonl")
    server = fake_server("--answers", str(answers), "--fault-rate", "0.25", "--retry-after", "0.1",
                         "--faults", "429,500,503,drop,malformed,hang", "--seed", "3")
    out = tmp_path / "run"
    proc = run_cli("run", "--model", "openai:fake", "--base-url", server.base_url, "--benchmark", "gsm8k",
                   "--limit", "60", "--data-dir", str(data_dir), "--out", str(out), "--timeout", "1",
                   "--max-retries", "10", "--no-cache", "-q")
    assert proc.returncode == 0, proc.stderr
    stats = server.stats()
    assert stats["faults"] > 0
    results = json.loads((out / "results.json").read_text())["benchmarks"]["gsm8k"]
    assert results["n"] == 60 and results["n_errors"] == 0
    assert results["metrics"]["exact_match_strict"]["value"] == 1.0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["execution"]["retries"] >= stats["faults"] - 1


def test_exhausted_retries_mark_samples_errored_not_wrong(tmp_path, data_dir, fake_server):
    server = fake_server("--fault-rate", "1.0", "--faults", "500")
    out = tmp_path / "run"
    proc = run_cli("run", "--model", "openai:fake", "--base-url", server.base_url, "--benchmark", "gsm8k",
                   "--limit", "5", "--data-dir", str(data_dir), "--out", str(out), "--max-retries", "1",
                   "--no-cache", "-q")
    assert proc.returncode == 1  # errors exceed --max-error-rate 0
    assert "exceeds --max-error-rate" in proc.stderr
    results = json.loads((out / "results.json").read_text())["benchmarks"]["gsm8k"]
    assert results["n_errors"] == 5
    assert results["metrics"]["exact_match_strict"]["value"] is None  # never scored as wrong
    assert all(r["error"] and "HTTP 500" in r["error"] for r in _samples(out))
    tolerant = run_cli("run", "--model", "openai:fake", "--base-url", server.base_url, "--benchmark", "gsm8k",
                       "--limit", "5", "--data-dir", str(data_dir), "--out", str(tmp_path / "r2"),
                       "--max-retries", "0", "--max-error-rate", "1", "--no-cache", "-q")
    assert tolerant.returncode == 0


def test_kill_9_then_resume_repeats_no_completed_call(tmp_path, data_dir, fake_server):
    answers = gsm8k_answers(data_dir, tmp_path / "answers.jsonl")
    server = fake_server("--answers", str(answers), "--latency", "0.2")
    out = tmp_path / "run"
    args = [sys.executable, "-m", "evalkit", "run", "--model", "openai:fake", "--base-url", server.base_url,
            "--benchmark", "gsm8k", "--limit", "120", "--data-dir", str(data_dir), "--out", str(out),
            "--no-cache", "-q"]
    proc = subprocess.Popen([*args, "--concurrency", "4"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    deadline = time.time() + 60
    while server.stats()["completed"] < 20 and time.time() < deadline:
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    completed_before = server.stats()["completed"]
    assert 20 <= completed_before < 120
    assert not (out / "results.json").exists()

    resumed = subprocess.run([*args, "--concurrency", "32"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    stats = server.stats()
    # at most the calls that were in flight at the kill (4) are repeated
    assert stats["requests"] <= 120 + 4
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["execution"]["cache_hits"] >= completed_before - 4
    results = json.loads((out / "results.json").read_text())["benchmarks"]["gsm8k"]
    assert results["n"] == 120 and results["metrics"]["exact_match_strict"]["value"] == 1.0


def test_manifest_has_no_secrets(tmp_path, data_dir, fake_server):
    server = fake_server()
    out = tmp_path / "run"
    secret = "sk-test-very-secret-1234567890"
    proc = run_cli("run", "--model", "openai:fake", "--base-url", server.base_url, "--benchmark", "gsm8k",
                   "--limit", "3", "--data-dir", str(data_dir), "--out", str(out), "-q",
                   env={"OPENAI_API_KEY": secret})
    assert proc.returncode == 0, proc.stderr
    for path in out.iterdir():
        assert secret.encode() not in path.read_bytes(), path
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["versions"]["evalkit"] and manifest["seed"] == 0
    assert manifest["started_at"] and manifest["finished_at"]
    assert manifest["execution"]["prompt_tokens"] > 0


def test_rejected_key_stops_the_run_and_the_manifest_says_why(tmp_path, data_dir):
    """A 401 mid-run is fatal for every request: exit 2, one line, manifest status 'failed'."""
    import http.server
    import threading

    class Reject(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the stdlib's name
            body = b'{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Reject)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        out = tmp_path / "run"
        proc = run_cli("run", "--model", "openai:x", "--base-url", f"http://127.0.0.1:{server.server_port}/v1",
                       "--benchmark", "gsm8k", "--limit", "3", "--data-dir", str(data_dir), "--out", str(out), "-q",
                       env={"OPENAI_API_KEY": "sk-wrong"})
    finally:
        server.shutdown()
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "rejected the API key" in proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "rejected the API key" in manifest["error"]
    assert "sk-wrong" not in (out / "manifest.json").read_text()


@pytest.mark.parametrize("args, message", [
    (["--benchmark", "gsm8k", "--benchmark", "mmlu"], "--benchmark given 2 times: give it once"),
    (["--benchmark", "gsm8k", "--fewshot-as-multiturn", "--no-fewshot-as-multiturn"],
     "--fewshot-as-multiturn/--no-fewshot-as-multiturn given 2 times"),
    (["--benchmark", "gsm8k", "--no-such-flag"], "No such option: --no-such-flag"),
    (["--benchmark"], "Option '--benchmark' requires an argument"),
])
def test_usage_mistakes_are_one_line_exit_2_before_any_call(args, message, tmp_path):
    """Click's default lets the last of a repeated option win: gsm8k then mmlu would run mmlu alone."""
    proc = run_cli("run", "--model", "openai:x", "--base-url", "http://127.0.0.1:9/v1", "--out", str(tmp_path / "r"),
                   *args)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "r").exists()


def test_repeatable_options_still_repeat(tmp_path):
    proc = run_cli("run", "--model", "openai:x", "--base-url", "http://127.0.0.1:9/v1", "--benchmark", "no_such",
                   "--judge", "openai:a", "--judge", "openai:b", "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "unknown benchmark 'no_such'" in proc.stderr, proc.stderr  # got past parsing
