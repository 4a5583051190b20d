"""Integration on the embedded SmolLM2-135M-Instruct: it loads, answers, scores ARC; bad model files fail cleanly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_cli

from evalkit.backends.factory import BackendOptions
from evalkit.backends.hf import HFBackend, embedded_gguf
from evalkit.errors import BackendError
from evalkit.tasks import load_task
from evalkit.types import GenerateRequest, GenerateResult, LoglikelihoodResult

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def smollm2() -> HFBackend:
    return HFBackend("embedded", BackendOptions(batch_size=16))


def test_embedded_model_answers_a_chat_question(smollm2: HFBackend) -> None:
    assert smollm2.use_chat_template and smollm2.loaded.n_parameters > 100_000_000
    assert smollm2.identity.startswith("hf|embedded|SmolLM2-135M-Instruct.Q4_1.gguf|")
    request = GenerateRequest(messages=(("user", "What is the capital of France?"),), max_tokens=24)
    (_, result), = smollm2.call_batch([request])
    assert isinstance(result, GenerateResult) and "Paris" in result.text
    assert smollm2.render(request).startswith("<|im_start|>")


def test_arc_logliks_do_not_depend_on_batch_size(smollm2: HFBackend, data_dir: Path) -> None:
    task = load_task("arc_challenge", data_dir, limit=6)
    requests = [r for s in task.samples for r in task.kind.requests(s, "loglikelihood")]
    batched = dict(smollm2.call_batch(requests))
    smollm2.batch_size = 1
    try:
        single = dict(smollm2.call_batch(requests))
    finally:
        smollm2.batch_size = 16
    for index in range(len(requests)):
        got, want = batched[index], single[index]
        assert isinstance(got, LoglikelihoodResult) and isinstance(want, LoglikelihoodResult)
        assert got.logprob == pytest.approx(want.logprob, abs=1e-4) and got.logprob < 0


def test_default_model_and_discovered_data_run_end_to_end(tmp_path: Path, data_dir: Path) -> None:
    """No --model and no --data-dir: the embedded model and ../shared/data (or $EVALKIT_DATA_DIR)."""
    out = tmp_path / "run"
    proc = run_cli("run", "--benchmark", "arc_challenge", "--limit", "3", "--out", str(out), "-q",
                   env={"EVALKIT_DATA_DIR": str(data_dir)})
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"]["name"] == "hf:embedded"
    assert manifest["benchmarks"]["arc_challenge"]["source"].startswith("local:")
    assert "acc_norm" in proc.stdout


def _strip_tokenizer(source: Path, target: Path) -> None:
    """Copy a GGUF without its tokenizer.* metadata (tensors and other keys unchanged)."""
    import gguf

    reader = gguf.GGUFReader(str(source))
    writer = gguf.GGUFWriter(str(target), reader.get_field("general.architecture").contents())
    for field in reader.fields.values():
        if field.name.startswith(("tokenizer.", "GGUF.")) or field.name == "general.architecture":
            continue
        sub_type = field.types[1] if field.types[0] == gguf.GGUFValueType.ARRAY and len(field.types) > 1 else None
        writer.add_key_value(field.name, field.contents(), field.types[0], sub_type=sub_type)
    for tensor in reader.tensors:
        writer.add_tensor(tensor.name, tensor.data, raw_shape=tensor.data.shape, raw_dtype=tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_gguf_without_tokenizer_is_one_line(tmp_path: Path) -> None:
    stripped = tmp_path / "no-tokenizer.gguf"
    _strip_tokenizer(embedded_gguf(), stripped)
    with pytest.raises(BackendError, match="holds no usable tokenizer") as caught:
        HFBackend(str(stripped), BackendOptions())
    assert "\n" not in str(caught.value)


def test_out_of_memory_on_load_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the embedded model where the weights cannot be allocated is one line naming the fix.

    The allocation failure is torch's own (a tensor no machine can hold, requested where the weights are
    read), so the test is deterministic; it replaced a child process under RLIMIT_AS, which failed at an
    import or hung inside the GGUF reader depending on the machine, never reliably at the weights."""
    import torch
    from transformers import AutoModelForCausalLM

    def allocate_too_much(*args: object, **kwargs: object) -> None:
        torch.empty(2**62, dtype=torch.uint8)  # RuntimeError: DefaultCPUAllocator: can't allocate memory

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", allocate_too_much)
    with pytest.raises(BackendError, match=r"out of memory while loading \(float32 on cpu\); try --dtype bfloat16") as caught:
        HFBackend("embedded", BackendOptions(device="cpu"))
    assert "\n" not in str(caught.value)
