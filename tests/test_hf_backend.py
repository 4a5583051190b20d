"""The transformers backend on a tiny random model: batching never changes an answer; bad input is one line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from helpers import run_cli

from evalkit.backends.factory import BackendOptions, create_backend
from evalkit.backends.hf import HFBackend
from evalkit.errors import BackendError
from evalkit.testing.tiny_model import build_tiny_model
from evalkit.types import (
    GenerateRequest,
    GenerateResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Request,
    Result,
)

CONTEXTS = [
    "Question: Which is the most likely effect of an increase in rotation?\nAnswer:",
    "The capital of France is",
    "Plants need light and ",  # trailing space moves to the continuation
    "A",
    "",  # empty context: the BOS/EOS token stands in
]
CONTINUATIONS = [" days become shorter.", " Paris", "water", " B C D", "Energy changes form"]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def backend(tiny_dir: Path) -> HFBackend:
    return HFBackend(str(tiny_dir), BackendOptions(batch_size=4))


def _answers(backend: HFBackend, requests: list[Request], batch_size: int) -> dict[int, Result]:
    saved = backend.batch_size
    backend.batch_size = batch_size
    try:
        return dict(backend.call_batch(requests))
    finally:
        backend.batch_size = saved


def test_factory_builds_hf_backend_with_identity_of_what_changes_answers(tiny_dir: Path) -> None:
    backend = create_backend(f"hf:{tiny_dir}", BackendOptions())
    assert isinstance(backend, HFBackend) and backend.is_batched and backend.prefers_loglikelihood
    plain = create_backend(f"hf:{tiny_dir}", BackendOptions(chat_template=False, dtype="bfloat16"))
    assert backend.identity != plain.identity
    assert "dtype=bfloat16" in plain.identity and "chat_template=0" in plain.identity
    assert backend.describe()["device"] == "cpu" and backend.describe()["dtype"] == "float32"


def test_encode_pair_splits_like_lm_eval(backend: HFBackend) -> None:
    tokenizer = backend.loaded.tokenizer
    context, continuation = backend.encode_pair("Plants need light and ", "water")
    whole = tokenizer("Plants need light and water")["input_ids"]
    assert context + continuation == whole
    assert context == tokenizer("Plants need light and")["input_ids"]
    prefix, tokens = backend.encode_pair("", "Energy")
    assert prefix == [tokenizer.bos_token_id] and tokens == tokenizer("Energy", add_special_tokens=False)["input_ids"]


def test_batched_logliks_equal_one_at_a_time_and_a_plain_forward(backend: HFBackend) -> None:
    import torch

    requests: list[Request] = [LoglikelihoodRequest(c, k) for c in CONTEXTS for k in CONTINUATIONS]
    batched = _answers(backend, requests, 7)
    single = _answers(backend, requests, 1)
    assert set(batched) == set(range(len(requests)))
    for index, request in enumerate(requests):
        got, want = batched[index], single[index]
        assert isinstance(got, LoglikelihoodResult) and isinstance(want, LoglikelihoodResult)
        assert got.logprob == pytest.approx(want.logprob, abs=1e-4)
        assert got.n_tokens == want.n_tokens and got.is_greedy == want.is_greedy
        # reference: one unpadded forward over the whole sequence, summed by hand
        context, continuation = backend.encode_pair(request.context, request.continuation)  # type: ignore[union-attr]
        ids = torch.tensor([context + continuation])
        with torch.no_grad():
            logprobs = torch.log_softmax(backend.loaded.model(ids).logits[0].float(), -1)
        expected = sum(float(logprobs[len(context) - 1 + i, t]) for i, t in enumerate(continuation))
        assert got.logprob == pytest.approx(expected, abs=1e-4)


def test_over_long_inputs_keep_their_end_as_lm_eval(backend: HFBackend) -> None:
    import torch

    context = " ".join(["Plants need light and water."] * 60)  # well past the 256-token window
    request = LoglikelihoodRequest(context, " Paris")
    (_, got), = backend.call_batch([request])
    context_ids, continuation_ids = backend.encode_pair(request.context, request.continuation)
    window = (context_ids + continuation_ids)[-(backend.loaded.max_length + 1):]
    assert len(context_ids) > backend.loaded.max_length
    with torch.no_grad():
        logprobs = torch.log_softmax(backend.loaded.model(torch.tensor([window[:-1]])).logits[0].float(), -1)
    n = len(continuation_ids)
    expected = sum(float(logprobs[len(window) - 1 - n + i, t]) for i, t in enumerate(continuation_ids))
    assert isinstance(got, LoglikelihoodResult) and got.logprob == pytest.approx(expected, abs=1e-4)


def test_is_greedy_is_true_for_the_models_own_greedy_continuation(backend: HFBackend) -> None:
    (_, generated), = backend.call_batch([GenerateRequest(prompt="The capital of France is", max_tokens=3)])
    assert isinstance(generated, GenerateResult) and generated.text
    (_, scored), = backend.call_batch([LoglikelihoodRequest("The capital of France is", generated.text)])
    assert isinstance(scored, LoglikelihoodResult) and scored.is_greedy


def test_left_padded_batched_greedy_equals_unbatched(backend: HFBackend) -> None:
    requests: list[Request] = [GenerateRequest(prompt=c or "Energy", max_tokens=12) for c in CONTEXTS]
    requests += [GenerateRequest(messages=(("system", "Be brief."), ("user", c or "Hi")), max_tokens=12)
                 for c in CONTEXTS]
    batched = _answers(backend, requests, 8)
    single = _answers(backend, requests, 1)
    texts = [batched[i].text for i in range(len(requests))]  # type: ignore[union-attr]
    assert texts == [single[i].text for i in range(len(requests))]  # type: ignore[union-attr]
    assert len(set(texts)) > 3  # the prompts really lead to different answers


def test_seeded_sampling_is_reproducible_and_independent_of_batching(backend: HFBackend) -> None:
    base = GenerateRequest(prompt="The capital of France is", max_tokens=16, temperature=1.0, top_p=0.95, seed=7)
    requests: list[Request] = [base, dataclasses.replace(base, seed=8), dataclasses.replace(base, replica=1),
                               GenerateRequest(prompt="Plants", max_tokens=16, temperature=1.0, seed=7)]
    first = _answers(backend, requests, 4)
    again = _answers(backend, requests, 1)
    texts = [first[i].text for i in range(4)]  # type: ignore[union-attr]
    assert texts == [again[i].text for i in range(4)]  # type: ignore[union-attr]
    assert len(set(texts[:3])) == 3  # other seed, other replica → other sample
    greedy = _answers(backend, [dataclasses.replace(base, temperature=0.0)], 1)[0]
    assert greedy.text != texts[0] or greedy.text != texts[1]  # type: ignore[union-attr]


def test_stop_sequences_cut_the_text(backend: HFBackend) -> None:
    free = _answers(backend, [GenerateRequest(prompt="The capital of", max_tokens=16)], 1)[0]
    assert isinstance(free, GenerateResult) and len(free.text) > 4
    stop = free.text[2:4]
    cut = _answers(backend, [GenerateRequest(prompt="The capital of", max_tokens=16, stop=(stop,))], 1)[0]
    assert isinstance(cut, GenerateResult)
    assert cut.text == free.text[: free.text.find(stop)] and cut.finish_reason == "stop"
    assert free.finish_reason in ("length", "stop")


def test_chat_template_on_and_off(tiny_dir: Path) -> None:
    request = GenerateRequest(messages=(("system", "S"), ("user", "Q")), max_tokens=2)
    templated = HFBackend(str(tiny_dir), BackendOptions(chat_template=True))
    assert templated.render(request) == "<|system|>S<|end|><|user|>Q<|end|><|assistant|>"
    plain = HFBackend(str(tiny_dir), BackendOptions(chat_template=False))
    assert plain.render(request) == "S\n\nQ"
    assert plain.render(GenerateRequest(prompt="raw text")) == "raw text"  # raw prompts are never templated


def test_chat_template_requested_but_missing_is_an_error(tmp_path: Path) -> None:
    bare = build_tiny_model(tmp_path / "bare", chat_template=False)
    assert HFBackend(str(bare), BackendOptions()).use_chat_template is False
    with pytest.raises(BackendError, match="has no chat template"):
        HFBackend(str(bare), BackendOptions(chat_template=True))


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing", "no such directory"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "is not a model directory"),
    (lambda p: (p / "notes.txt").write_text("hi") and p / "notes.txt", "is a file but not a model"),
    (lambda p: (p / "broken.gguf").write_bytes(b"GGUF\x00garbage") and p / "broken.gguf", "GGUF"),
    (lambda p: (p / "weights").mkdir() or (p / "weights" / "config.json").write_text("{}") and p / "weights",
     "cannot load"),
])
def test_paths_that_are_not_models_fail_in_one_line(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    with pytest.raises(BackendError, match=message) as caught:
        HFBackend(str(path), BackendOptions())
    assert "\n" not in str(caught.value)


def test_cli_bad_model_path_exits_2_with_one_line(tmp_path: Path, data_dir: Path) -> None:
    (tmp_path / "empty").mkdir()
    proc = run_cli("run", "--model", f"hf:{tmp_path / 'empty'}", "--benchmark", "gsm8k", "--data-dir",
                   str(data_dir), "--limit", "1", "--out", str(tmp_path / "run"), "-q")
    assert proc.returncode == 2
    assert "not a model directory" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_dtype_and_device_are_errors(tiny_dir: Path) -> None:
    with pytest.raises(BackendError, match="--dtype"):
        HFBackend(str(tiny_dir), BackendOptions(dtype="float8"))
    with pytest.raises(BackendError, match="--device"):
        HFBackend(str(tiny_dir), BackendOptions(device="tpu:9"))
