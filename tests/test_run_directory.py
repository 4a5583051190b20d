"""The run directory never loses or hides a run: every refusal to reuse ``--out`` is one line and exit 2,
a finished run's files stay byte-identical after a failed resume, and the report skips unfinished runs."""

from __future__ import annotations

import http.server
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import run_cli

FILES = ("manifest.json", "samples.jsonl", "results.json")


def _one_line_exit_2(proc, *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _snapshot(run: Path) -> dict[str, bytes]:
    return {name: (run / name).read_bytes() for name in FILES}


class _Switchable(http.server.BaseHTTPRequestHandler):
    """An OpenAI-protocol endpoint that answers until ``reject`` is set, then rejects the key (401)."""

    reject = False
    calls = 0

    def do_POST(self):  # noqa: N802 - the stdlib's name
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if type(self).reject:
            status, body = 401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}
        else:
            status, body = 200, {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": "#### 18"}}],
                                 "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint() -> Iterator[type[_Switchable]]:
    handler = type("Handler", (_Switchable,), {"reject": False, "calls": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler.url = f"http://127.0.0.1:{server.server_port}/v1"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


def _run(endpoint, data_dir: Path, out: Path, *extra: str, benchmark: str = "gsm8k", limit: str = "3"):
    return run_cli("run", "--model", "openai:m", "--base-url", endpoint.url, "--benchmark", benchmark,
                   "--limit", limit, "--data-dir", str(data_dir), "--out", str(out), "--max-retries", "0",
                   "--no-cache", "-q", *extra, env={"OPENAI_API_KEY": "sk-test"})


def _finished(endpoint, data_dir: Path, out: Path) -> dict[str, bytes]:
    proc = _run(endpoint, data_dir, out)
    assert proc.returncode in (0, 1), proc.stderr  # 1: some answers are wrong; the run itself finished
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    return _snapshot(out)


def test_out_that_is_a_file_is_one_line(tmp_path, data_dir, endpoint):
    out = tmp_path / "results.txt"
    out.write_text("not a run\n")
    _one_line_exit_2(_run(endpoint, data_dir, out), str(out), "is a file")
    assert out.read_text() == "not a run\n" and endpoint.calls == 0


def test_read_only_out_is_one_line(tmp_path, data_dir, endpoint):
    if os.geteuid() == 0:  # root writes through file modes: use a place no one may create files in
        out = Path("/sys/evalkit-run-test")
        assert not out.exists()
    else:
        parent = tmp_path / "locked"
        parent.mkdir()
        parent.chmod(0o500)
        out = parent / "run"
    _one_line_exit_2(_run(endpoint, data_dir, out), str(out), "cannot be written")
    assert endpoint.calls == 0


def test_truncated_journal_is_one_line_and_the_finished_run_is_untouched(tmp_path, data_dir, endpoint):
    out = tmp_path / "run"
    before = _finished(endpoint, data_dir, out)
    journal = out / "journal.sqlite"
    for side in ("journal.sqlite-wal", "journal.sqlite-shm"):
        (out / side).unlink(missing_ok=True)
    journal.write_bytes(journal.read_bytes()[:300])  # truncated mid-page
    calls = endpoint.calls
    line = _one_line_exit_2(_run(endpoint, data_dir, out), "journal.sqlite is damaged", "samples.jsonl and "
                            "results.json are intact", "choose a new --out")
    assert "DatabaseError" not in line
    assert _snapshot(out) == before and endpoint.calls == calls
    journal.write_bytes(b"this is not sqlite at all" * 100)  # garbage, not merely short
    _one_line_exit_2(_run(endpoint, data_dir, out), "journal.sqlite is damaged")
    assert _snapshot(out) == before


def test_failed_resume_never_rewrites_a_finished_run(tmp_path, data_dir, endpoint):
    out = tmp_path / "run"
    before = _finished(endpoint, data_dir, out)
    endpoint.reject = True  # the resume needs 2 more answers and the key is now rejected: the run fails
    _one_line_exit_2(_run(endpoint, data_dir, out, limit="5"), "rejected the API key")
    assert _snapshot(out) == before


def test_other_benchmark_in_the_same_out_is_refused(tmp_path, data_dir, endpoint):
    out = tmp_path / "run"
    before = _finished(endpoint, data_dir, out)
    calls = endpoint.calls
    _one_line_exit_2(_run(endpoint, data_dir, out, benchmark="gsm8k_cot"), "holds a run of gsm8k, not gsm8k_cot",
                     "choose a new --out")
    _one_line_exit_2(_run(endpoint, data_dir, out, benchmark="gsm8k,gsm8k_cot"), "holds a run of gsm8k")
    _one_line_exit_2(_run(endpoint, data_dir, out, limit="2"), "would drop the rest")
    assert _snapshot(out) == before and endpoint.calls == calls
    again = _run(endpoint, data_dir, out, limit="4")  # more of the same benchmark: a resume, nothing lost
    assert again.returncode in (0, 1), again.stderr
    rows = (out / "samples.jsonl").read_text().splitlines()
    assert len(rows) == 4 and endpoint.calls == calls + 1


def test_report_skips_unfinished_runs_with_a_note(tmp_path, data_dir, endpoint):
    runs = tmp_path / "runs"
    _finished(endpoint, data_dir, runs / "good")
    endpoint.reject = True
    failed = _run(endpoint, data_dir, runs / "failed")
    assert failed.returncode == 2
    assert json.loads((runs / "failed" / "manifest.json").read_text())["status"] == "failed"
    (runs / "empty").mkdir()
    page = tmp_path / "index.html"
    proc = run_cli("report", *sorted(map(str, runs.iterdir())), "--out", str(page))
    assert proc.returncode == 0, proc.stderr
    notes = proc.stderr.strip().splitlines()
    assert len(notes) == 2 and all(n.startswith("note: skipped ") for n in notes), notes
    assert "the run is failed" in proc.stderr and "no manifest.json" in proc.stderr
    assert page.exists() and "1 runs" in proc.stdout
    only_bad = run_cli("report", str(runs / "failed"), "--out", str(page))
    assert only_bad.returncode == 2 and "no finished run among" in only_bad.stderr
