"""--batch through the fake server's real /v1/files and /v1/batches endpoints over HTTP: results, the
batch discount, failed/expired lines and whole-batch failures retried, and kill -9 after submission
resumed without submitting a batch twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import run_cli

from evalkit.execution.batch_api import chunk_lines

PRICES = {"input": 2.0, "cached_input": 0.5, "output": 8.0, "batch_discount": 0.5}


def _prices(tmp_path: Path) -> Path:
    path = tmp_path / "prices.yaml"
    path.write_text(json.dumps({"models": {"acme-1": PRICES}}))
    return path


def _args(server, data_dir: Path, out: Path, n: int, *extra: str, batch: bool = True) -> list[str]:
    return ["run", "--model", "openai:acme-1", "--base-url", server.base_url, "--benchmark", "gsm8k",
            "--limit", str(n), "--data-dir", str(data_dir), "--out", str(out), "-q", *extra,
            *(["--batch", "--batch-poll", "0.2", "--batch-chunk", "10"] if batch else [])]


def _results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())["benchmarks"]["gsm8k"]


def _outputs(out: Path) -> dict[str, str]:
    return {row["id"]: row["output"] for row in map(json.loads, (out / "samples.jsonl").read_text().splitlines())}


def test_chunks_stay_within_request_and_size_limits():
    lines = [(f"k{i}", b"x" * 10) for i in range(25)]
    assert [len(c) for c in chunk_lines(lines, max_requests=10, max_bytes=1000)] == [10, 10, 5]
    assert [len(c) for c in chunk_lines(lines, max_requests=100, max_bytes=35)] == [3] * 8 + [1]
    assert [k for c in chunk_lines(lines, 7, 64) for k, _ in c] == [k for k, _ in lines]


def test_batch_answers_match_online_at_the_batch_discount(tmp_path, data_dir, fake_server):
    server = fake_server("--batch-delay", "0.3")
    prices = _prices(tmp_path)
    proc = run_cli(*_args(server, data_dir, tmp_path / "batch", 25, "--pricing", str(prices), "--no-cache"))
    assert proc.returncode == 0, proc.stderr
    stats = server.stats()
    assert stats["batches_created"] == 3 and stats["files_uploaded"] == 3  # 25 requests in files of at most 10
    assert stats["requests"] == 0 and stats["batch_lines_answered"] == 25  # nothing went online

    online = run_cli(*_args(server, data_dir, tmp_path / "online", 25, "--pricing", str(prices), "--no-cache", batch=False))
    assert online.returncode == 0, online.stderr
    assert _outputs(tmp_path / "batch") == _outputs(tmp_path / "online")
    assert _results(tmp_path / "batch")["metrics"] == _results(tmp_path / "online")["metrics"]
    batch_cost = json.loads((tmp_path / "batch" / "manifest.json").read_text())["cost"]
    online_cost = json.loads((tmp_path / "online" / "manifest.json").read_text())["cost"]
    assert batch_cost["batch"] and batch_cost["total_usd"] == pytest.approx(online_cost["total_usd"] / 2, abs=2e-6)


@pytest.mark.parametrize("retry", ["batch", "online"])
def test_failed_expired_lines_and_a_failed_batch_are_retried(tmp_path, data_dir, fake_server, retry):
    server = fake_server("--batch-delay", "0.2", "--batch-line-fail-rate", "0.2", "--batch-expire-rate", "0.1",
                         "--batch-fail-first", "1", "--seed", "5")
    out = tmp_path / "run"
    proc = run_cli(*_args(server, data_dir, out, 30, "--batch-retry", retry, "--no-cache"))
    assert proc.returncode == 0, proc.stderr
    results = _results(out)
    assert results["n"] == 30 and results["n_errors"] == 0
    stats = server.stats()
    answered = stats["batch_lines_answered"] + stats["completed"]
    assert answered == 30  # every request answered exactly once, wherever
    if retry == "batch":
        assert stats["batches_created"] > 3 and stats["requests"] == 0
    else:
        assert stats["batches_created"] == 3 and stats["completed"] > 10  # the failed batch's 10, and more, online


def test_journaled_and_cached_requests_are_never_resubmitted(tmp_path, data_dir, fake_server):
    server = fake_server("--batch-delay", "0.2")
    first = run_cli(*_args(server, data_dir, tmp_path / "a", 15))
    assert first.returncode == 0, first.stderr
    again = run_cli(*_args(server, data_dir, tmp_path / "a", 15))  # resume: all journaled
    cached = run_cli(*_args(server, data_dir, tmp_path / "b", 15))  # new run: all in the cache
    assert again.returncode == 0 and cached.returncode == 0, again.stderr + cached.stderr
    assert server.stats()["batches_created"] == 2 and server.stats()["files_uploaded"] == 2


def test_killed_after_submission_resumes_polling_the_same_batches(tmp_path, data_dir, fake_server):
    server = fake_server("--batch-delay", "4")
    out = tmp_path / "run"
    args = _args(server, data_dir, out, 40, "--no-cache")
    process = subprocess.Popen([sys.executable, "-m", "evalkit", *args], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    deadline = time.monotonic() + 60
    journaled = 0
    while time.monotonic() < deadline and journaled < 4:
        time.sleep(0.1)
        if (out / "journal.sqlite").exists():
            try:
                with sqlite3.connect(out / "journal.sqlite") as db:
                    journaled = db.execute("SELECT COUNT(*) FROM batches").fetchone()[0]
            except sqlite3.OperationalError:  # the table is not created yet
                journaled = 0
    assert journaled == 4, "the run did not submit its 4 batches in time"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert server.stats()["batches_created"] == 4 and server.stats()["batch_lines_answered"] == 0
    # without --batch the run would ask those requests again online: it says so before any call
    warned = run_cli(*[a for a in args if a not in ("--batch", "--batch-poll", "0.2", "--batch-chunk", "10")],
                     "--max-cost", "0.000001")
    assert "4 batches an earlier --batch run submitted are still open" in warned.stderr and warned.returncode == 2
    assert server.stats()["requests"] == 0

    resumed = run_cli(*args)
    assert resumed.returncode == 0, resumed.stderr
    stats = server.stats()
    assert stats["batches_created"] == 4 and stats["files_uploaded"] == 4  # polled, not submitted again
    assert stats["batch_lines_answered"] == 40 and stats["requests"] == 0
    results = _results(out)
    assert results["n"] == 40 and results["n_errors"] == 0
    with sqlite3.connect(out / "journal.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 40
        assert {s for (s,) in db.execute("SELECT state FROM batches")} == {"completed"}


def test_batch_needs_a_batch_api(tmp_path, data_dir):
    answers = tmp_path / "p.jsonl"
    answers.write_text(json.dumps({"id": "gsm8k-0", "output": "#### 1"}) + "\n")
    proc = run_cli("run", "--model", f"predictions:{answers}", "--benchmark", "gsm8k", "--limit", "1",
                   "--data-dir", str(data_dir), "--out", str(tmp_path / "o"), "--batch", "-q")
    assert proc.returncode == 2 and "--batch" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
