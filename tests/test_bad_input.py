"""Bad input gets one clear line on stderr and exit code 2 — never a traceback."""

from __future__ import annotations

import pytest
from helpers import run_cli


def _assert_clean_error(proc, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def test_unknown_benchmark(data_dir):
    proc = run_cli("run", "--model", "openai:x", "--base-url", "http://127.0.0.1:9/v1", "--benchmark", "gsm8kk",
                   "--data-dir", str(data_dir))
    _assert_clean_error(proc, "unknown benchmark 'gsm8kk'", "did you mean gsm8k")


def test_missing_api_key(data_dir):
    proc = run_cli("run", "--model", "openai:gpt-4o-mini", "--benchmark", "gsm8k", "--data-dir", str(data_dir),
                   "--limit", "1")
    _assert_clean_error(proc, "OPENAI_API_KEY is not set")


def test_unreachable_endpoint(tmp_path, data_dir):
    proc = run_cli("run", "--model", "openai:x", "--base-url", "http://127.0.0.1:9/v1", "--benchmark", "gsm8k",
                   "--data-dir", str(data_dir), "--limit", "2", "--max-retries", "1", "--out", str(tmp_path / "r"), "-q")
    # every request fails to connect: samples errored, reported, exit 1 (errors > max-error-rate)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "2 of 2 samples errored" in proc.stderr


@pytest.mark.parametrize(("flag", "value", "needle"), [
    ("--limit", "0", "--limit must be at least 1"),
    ("--concurrency", "0", "--concurrency must be at least 1"),
    ("--timeout", "-1", "--timeout must be positive"),
    ("--max-error-rate", "2", "--max-error-rate must be between 0 and 1"),
    ("--mode", "fast", "--mode must be"),
    ("--model", "gpt4", "write PROVIDER:NAME"),
    ("--model", "nope:x", "unknown provider 'nope'"),
])
def test_bad_flag_values(data_dir, flag, value, needle):
    args = {"--model": "openai:x", "--benchmark": "gsm8k", "--data-dir": str(data_dir)}
    args[flag] = value
    flat = [item for pair in args.items() for item in pair]
    proc = run_cli("run", *flat, "--base-url", "http://127.0.0.1:9/v1")
    _assert_clean_error(proc, needle)


def test_non_numeric_flag_is_a_usage_error():
    proc = run_cli("run", "--limit", "many")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_missing_data_dir_and_unreadable_file(tmp_path):
    proc = run_cli("run", "--model", "openai:x", "--base-url", "http://127.0.0.1:9/v1", "--benchmark", "gsm8k",
                   "--data-dir", str(tmp_path / "nope"))
    _assert_clean_error(proc, "--data-dir", "is not a directory")
    (tmp_path / "gsm8k").mkdir()
    (tmp_path / "gsm8k" / "test.jsonl").write_text('{"question": "q", "answer": "#### 1"}\n{not json\n')
    proc = run_cli("run", "--model", "openai:x", "--base-url", "http://127.0.0.1:9/v1", "--benchmark", "gsm8k",
                   "--data-dir", str(tmp_path))
    _assert_clean_error(proc, "test.jsonl:2: invalid JSON")
    (tmp_path / "gsm8k" / "test.jsonl").write_bytes(b'{"question": "\xff\xfe", "answer": "#### 1"}\n')
    proc = run_cli("run", "--model", "openai:x", "--base-url", "http://127.0.0.1:9/v1", "--benchmark", "gsm8k",
                   "--data-dir", str(tmp_path))
    _assert_clean_error(proc, "cannot read")


def test_bad_data_row(tmp_path):
    (tmp_path / "gsm8k").mkdir()
    (tmp_path / "gsm8k" / "test.jsonl").write_text('{"question": "q"}\n')
    proc = run_cli("run", "--model", "openai:x", "--base-url", "http://127.0.0.1:9/v1", "--benchmark", "gsm8k",
                   "--data-dir", str(tmp_path))
    _assert_clean_error(proc, "row 0", "target")
