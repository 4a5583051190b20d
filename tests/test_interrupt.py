"""Ctrl-C on a local-model run: one line with the command that resumes, exit 130 within seconds (the batch
thread is not waited for), and the resumed run ends with the results of an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evalkit.testing.tiny_model import build_tiny_model

pytestmark = pytest.mark.slow


def _command(model: Path, data_dir: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "evalkit.cli.main", "run", "--model", f"hf:{model}", "--benchmark", "gsm8k",
            "--limit", "60", "--batch-size", "2", "--gen-kwargs", "max_tokens=96", "--data-dir", str(data_dir), "--out", str(out), "--no-cache", "-q"]


def _journaled(out: Path) -> int:
    import sqlite3

    path = out / "journal.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path) as db:
            return int(db.execute("select count(*) from responses").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_sigint_exits_fast_with_the_resume_line_and_the_rerun_matches(tmp_path, data_dir):
    if not (data_dir / "gsm8k").is_dir():
        pytest.skip("GSM8K data not in the data dir")
    model = build_tiny_model(tmp_path / "tiny")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = tmp_path / "interrupted"
    proc = subprocess.Popen(_command(model, data_dir, out), env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while _journaled(out) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    waited = time.monotonic() - sent
    assert proc.returncode == 130, stderr
    # the bar is 5 s (1–2 s on a quiet machine); this bound only catches the old behaviour of running
    # the remaining plan to its end (minutes), not a loaded machine
    assert waited < 30, f"took {waited:.1f} s to stop"
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted:") and "resume with: evalkit run" in lines[0], stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"

    resumed = subprocess.run(_command(model, data_dir, out), env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode in (0, 1), resumed.stderr
    fresh = subprocess.run(_command(model, data_dir, tmp_path / "fresh"), env=env, capture_output=True, text=True,
                           timeout=600)
    assert fresh.returncode in (0, 1), fresh.stderr

    def outputs(run: Path) -> list[tuple[str, str]]:
        return [(r["id"], r["output"]) for r in map(json.loads, (run / "samples.jsonl").read_text().splitlines())]

    assert outputs(out) == outputs(tmp_path / "fresh")
