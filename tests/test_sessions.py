"""The manifest counts every session of a resumed run: interrupted, then resumed, it adds up to one run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import gsm8k_answers


def _command(server, data_dir: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "evalkit.cli.main", "run", "--model", "openai:fake", "--base-url", server.base_url,
            "--benchmark", "gsm8k", "--limit", "40", "--concurrency", "2", "--data-dir", str(data_dir),
            "--out", str(out), "--no-cache", "-q"]


def test_token_and_call_counts_cover_every_session(tmp_path, data_dir, fake_server):
    server = fake_server("--answers", str(gsm8k_answers(data_dir, tmp_path / "a.jsonl")), "--latency", "0.1")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = tmp_path / "run"
    proc = subprocess.Popen(_command(server, data_dir, out), env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while server.stats()["completed"] < 12 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    first = json.loads((out / "manifest.json").read_text())
    assert first["status"] == "interrupted" and len(first["sessions"]) == 1
    done_first = first["sessions"][0]["model_calls"]
    assert 0 < done_first < 40

    resumed = subprocess.run(_command(server, data_dir, out), env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    fresh = subprocess.run(_command(server, data_dir, tmp_path / "fresh"), env=env, capture_output=True, text=True,
                           timeout=300)
    assert fresh.returncode == 0, fresh.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    one_go = json.loads((tmp_path / "fresh" / "manifest.json").read_text())
    assert [s["status"] for s in manifest["sessions"]] == ["interrupted", "complete"]
    total = manifest["execution_total"]
    assert total["model_calls"] == sum(s["model_calls"] for s in manifest["sessions"])
    # every request answered once across the two sessions: the tokens add up to one uninterrupted run's
    # (calls still in flight at the interrupt are counted only when their answer arrived)
    assert total["completion_tokens"] == one_go["execution_total"]["completion_tokens"]
    assert total["prompt_tokens"] == one_go["execution_total"]["prompt_tokens"]
    assert manifest["execution"]["model_calls"] < 40  # the last session alone did not redo the first's work
