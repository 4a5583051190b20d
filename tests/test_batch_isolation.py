"""Local-model batches isolate their items: one request that raises errors that sample only, never the
run, and a batch that runs past its wall-clock limit errors what it cut short. Real tiny transformers
model, real SQLite journal."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from helpers import run_cli

from evalkit.backends.factory import BackendOptions
from evalkit.backends.hf import HFBackend
from evalkit.execution.executor import Executor
from evalkit.execution.store import ResponseStore
from evalkit.testing.tiny_model import build_tiny_model
from evalkit.types import GenerateRequest, LoglikelihoodRequest, Request, request_key

GOOD = ["The capital of France is", "Plants need light and water.", "A B C D", "Energy changes form"]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


def _run(backend: HFBackend, requests: list[Request], journal: Path):
    store = ResponseStore(journal)
    try:
        executor = Executor(backend, store, None)
        outcomes = asyncio.run(executor.run(requests))
        return outcomes, executor.stats, {k for k in store.get_many([request_key(backend.identity, r) for r in requests])}
    finally:
        store.close()


def test_a_bad_item_errors_its_sample_and_the_rest_are_answered(tiny_dir, tmp_path):
    backend = HFBackend(str(tiny_dir), BackendOptions(batch_size=3))
    limit = backend.loaded.max_length
    requests: list[Request] = [GenerateRequest(prompt=p, max_tokens=4) for p in GOOD]
    requests.insert(1, GenerateRequest(prompt="a lone surrogate \ud800 cannot be encoded", max_tokens=4))
    requests.insert(3, GenerateRequest(prompt="over-long", max_tokens=limit + 10))  # no room left for a prompt
    requests.append(LoglikelihoodRequest(context="The capital of France is", continuation=" Paris"))
    requests.append(LoglikelihoodRequest(context="bad \udfff", continuation=" x"))
    outcomes, stats, journaled = _run(backend, requests, tmp_path / "journal.sqlite")
    errored = [i for i, o in enumerate(outcomes) if o.result is None]
    assert errored == [1, 3, len(requests) - 1]
    assert "cannot tokenize" in outcomes[1].error and "request rejected" in outcomes[1].error
    assert f"leaves no room for the prompt in the model's {limit}-token context" in outcomes[3].error
    assert "cannot tokenize" in outcomes[-1].error
    assert stats.errors == 3 and len(journaled) == len(requests) - 3  # every answer journaled, no error
    # the answers are the ones the same requests get without the bad neighbours
    clean = [r for i, r in enumerate(requests) if i not in errored]
    alone, _, _ = _run(backend, clean, tmp_path / "clean.sqlite")
    assert [o.result for o in outcomes if o.result is not None] == [o.result for o in alone]


def test_an_exception_inside_a_batch_is_isolated_to_its_item(tiny_dir, tmp_path):
    """A failure of the whole batch call (as out-of-memory inside generate would be) is narrowed down by
    re-asking in halves: only the request that raises is errored, the others still run batched."""
    backend = HFBackend(str(tiny_dir), BackendOptions(batch_size=8))
    real_generate = backend.loaded.generate
    batches: list[int] = []

    def generate(prompts, **kwargs):
        batches.append(len(prompts))
        if any("POISON" in backend.codec.decode(p) for p in prompts):
            raise RuntimeError("CUDA out of memory (injected)")
        return real_generate(prompts, **kwargs)

    backend.loaded.generate = generate  # type: ignore[method-assign]
    requests: list[Request] = [GenerateRequest(prompt=f"{p} {i}", max_tokens=3) for i, p in enumerate(GOOD * 2)]
    requests.insert(5, GenerateRequest(prompt="this one fails POISON", max_tokens=3))
    outcomes, stats, _ = _run(backend, requests, tmp_path / "journal.sqlite")
    assert [i for i, o in enumerate(outcomes) if o.result is None] == [5]
    assert "RuntimeError: CUDA out of memory (injected)" in outcomes[5].error
    assert stats.errors == 1 and max(batches) == 8 and len(batches) < 2 * len(requests)


def test_cli_over_long_prompt_and_batch_time_limit_error_samples_not_the_run(tiny_dir, tmp_path, data_dir):
    text = (Path(__file__).parents[1] / "benchmarks" / "gsm8k.yaml").read_text(encoding="utf-8")
    spec = tmp_path / "gsm8k.yaml"
    spec.write_text(text.replace("max_tokens: 512", "max_tokens: 300"))  # more than the tiny model's 256 positions
    out = tmp_path / "long"
    proc = run_cli("run", "--model", f"hf:{tiny_dir}", "--benchmark", str(spec), "--limit", "3",
                   "--data-dir", str(data_dir), "--out", str(out), "-q")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr  # errors > --max-error-rate 0
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all("leaves no room for the prompt" in r["error"] for r in rows)
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"

    spec.write_text(text.replace("max_tokens: 512", "max_tokens: 200"))  # fits: 56 positions are left for the prompt
    out = tmp_path / "slow"
    proc = run_cli("run", "--model", f"hf:{tiny_dir}", "--benchmark", str(spec), "--limit", "3", "--data-dir",
                   str(data_dir), "--out", str(out), "--batch-timeout", "0.001", "-q")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and any("ran past its 0.001s limit" in (r["error"] or "") for r in rows)
