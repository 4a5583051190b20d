"""The OpenAI backend end to end against a real llama.cpp server (xllamacpp) serving the embedded GGUF.

llama.cpp's /v1/completions ignores ``echo`` and returns logprobs for the generated token only, so
it cannot score log-likelihoods; evalkit must say so in one line instead of scoring every choice
alike. The echo+logprobs parsing itself is checked against the fake server, whose legacy-format
logprobs are deterministic.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import run_cli

from evalkit.testing.llamacpp_server import llamacpp_server

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    pytest.importorskip("xllamacpp")
    from evalkit.backends.hf import embedded_gguf

    with llamacpp_server(embedded_gguf(), n_parallel=2, threads=1) as base_url:
        yield base_url


def _rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


def test_chat_generation_through_llama_cpp(tmp_path: Path, data_dir: Path, llama_server: str) -> None:
    out = tmp_path / "chat"
    proc = run_cli("run", "--model", "openai:smollm2", "--base-url", llama_server, "--benchmark", "arc_challenge",
                   "--mode", "generate", "--limit", "4", "--data-dir", str(data_dir), "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    entry = json.loads((out / "results.json").read_text())["benchmarks"]["arc_challenge"]
    assert entry["mode"] == "generate" and entry["n"] == 4 and entry["n_errors"] == 0
    rows = _rows(out)
    assert all(isinstance(r["output"], str) and r["output"].strip() for r in rows)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["execution"]["model_calls"] == 4 and manifest["execution"]["prompt_tokens"] > 100
    assert all("A. " in r["input"] and "Answer" in r["input"] for r in rows)  # the lettered prompt was sent


def test_raw_completions_with_stop_sequence(tmp_path: Path, llama_server: str) -> None:
    import asyncio

    from evalkit.backends.openai_api import OpenAIBackend
    from evalkit.types import GenerateRequest

    async def ask() -> tuple[str, str | None]:
        backend = OpenAIBackend("smollm2", base_url=llama_server, use_completions=True)
        try:
            result = await backend.call(GenerateRequest(prompt="1, 2, 3, 4,", max_tokens=24, stop=(" 7",)))
        finally:
            await backend.aclose()
        return result.text, result.finish_reason  # type: ignore[union-attr]

    text, finish = asyncio.run(ask())
    assert text.startswith(" 5") and " 7" not in text and finish == "stop"


def test_loglikelihood_against_llama_cpp_is_one_clear_error(tmp_path: Path, data_dir: Path, llama_server: str) -> None:
    proc = run_cli("run", "--model", "openai-completions:smollm2", "--base-url", llama_server,
                   "--benchmark", "arc_challenge", "--mode", "loglikelihood", "--limit", "2",
                   "--data-dir", str(data_dir), "--out", str(tmp_path / "ll"), "--no-cache", "-q")
    assert proc.returncode == 2
    assert "does not return prompt log-probabilities" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_echo_logprobs_are_summed_over_the_continuation(tmp_path: Path, data_dir: Path, fake_server) -> None:  # type: ignore[no-untyped-def]
    """The fake server echoes in the legacy format (tokens, token_logprobs, text_offset), each
    whitespace-led word costing -len(word)/10: the continuation's sum is known exactly."""
    server = fake_server()
    out = tmp_path / "fake"
    proc = run_cli("run", "--model", "openai-completions:fake", "--base-url", server.base_url,
                   "--benchmark", "arc_challenge", "--mode", "loglikelihood", "--limit", "10",
                   "--data-dir", str(data_dir), "--out", str(out), "--no-cache", "-q")
    assert proc.returncode == 0, proc.stderr
    for row in _rows(out):
        choices = [json.loads(line) for line in (data_dir / "arc_challenge" / "ARC-Challenge-Test.jsonl")
                   .read_text().splitlines() if json.loads(line)["id"] == row["id"]][0]["question"]["choices"]
        expected = [-sum(len(word) for word in c["text"].split()) / 10 for c in choices]
        assert row["choice_logliks"] == pytest.approx(expected, abs=1e-9)
