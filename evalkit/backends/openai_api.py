"""Any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp…) through the openai SDK.

The SDK's own retries are off: the executor owns retries so every attempt is counted, backoff
honours Retry-After, and a request that exhausts them is reported instead of crashing the run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Iterator
from typing import Any, TypeVar

from evalkit.backends.base import BatchState, RequestError, RetryableError
from evalkit.errors import BackendError
from evalkit.types import (
    GenerateRequest,
    GenerateResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Request,
    Result,
    ToolCall,
    Usage,
)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
T = TypeVar("T")


def _retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _http_client(openai: Any) -> Any:
    """The SDK's aiohttp transport when aiohttp is installed: at 64 concurrent requests it keeps
    within ~1.14x of the ideal where the default httpx2 pool reaches ~1.25x (bench/throughput.py)."""
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        return None
    return openai.DefaultAioHttpClient()


class OpenAIBackend:
    is_batched = False
    is_lookup = False
    supports_loglikelihood = True  # via /v1/completions echo+logprobs, where the server supports it
    prefers_loglikelihood = False

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None,
                 timeout: float = 120.0, use_completions: bool = False, reasoning_effort: str | None = None,
                 max_completion_tokens: bool = False) -> None:
        import openai

        self._openai = openai
        self.model = model
        self.billing_model = model
        self.use_completions = use_completions
        self.name = f"{'openai-completions' if use_completions else 'openai'}:{model}"
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            if self.base_url == DEFAULT_BASE_URL:
                raise BackendError("OPENAI_API_KEY is not set: export it, or pass --base-url for a local server")
            key = "EMPTY"  # local servers (vLLM, llama.cpp, Ollama) accept any key
        self.reasoning_effort = reasoning_effort
        self.max_completion_tokens = max_completion_tokens  # send the limit as max_completion_tokens (o-series)
        self.identity = f"openai|{self.base_url}|{model}|{'completions' if use_completions else 'chat'}"
        if reasoning_effort:  # part of the cache key only when set, so earlier caches stay valid
            self.identity += f"|reasoning_effort={reasoning_effort}"
        if max_completion_tokens:
            self.identity += "|max_completion_tokens"
        self.client = openai.AsyncOpenAI(api_key=key, base_url=self.base_url, max_retries=0, timeout=timeout,
                                         http_client=_http_client(openai))

    def describe(self) -> dict[str, object]:
        return {"backend": "openai", "model": self.model, "base_url": self.base_url,
                "endpoint": "completions" if self.use_completions else "chat",
                "reasoning_effort": self.reasoning_effort, "max_completion_tokens": self.max_completion_tokens}

    async def aclose(self) -> None:
        await self.client.close()

    def call_batch(self, requests: list[Request]) -> Iterator[tuple[int, Result]]:
        raise NotImplementedError("the OpenAI backend is driven one request at a time")

    async def call(self, request: Request) -> Result:
        path, body = self.request_body(request)
        return await self._guarded(self._answer(request, path, body))

    async def _answer(self, request: Request, path: str, body: dict[str, Any]) -> Result:
        return self.parse_reply(request, await self._post(path, body))

    async def _guarded(self, call: Awaitable[T]) -> T:
        """Await one API call, mapping the SDK's errors onto the backend seam's (see backends/base.py)."""
        openai = self._openai
        try:
            return await call
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise BackendError(f"{self.base_url} rejected the API key ({exc.status_code}): check OPENAI_API_KEY") from None
        except openai.NotFoundError:
            raise BackendError(f"model {self.model!r} or its endpoint was not found at {self.base_url}") from None
        except openai.RateLimitError as exc:
            raise RetryableError(f"HTTP {exc.status_code}", _retry_after(exc), rate_limited=True) from None
        except (openai.InternalServerError, openai.ConflictError) as exc:
            raise RetryableError(f"HTTP {exc.status_code}", _retry_after(exc)) from None
        except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
            raise RequestError(f"HTTP {exc.status_code}: {exc.message}") from None
        except openai.APIStatusError as exc:
            if exc.status_code >= 500 or exc.status_code == 408:
                raise RetryableError(f"HTTP {exc.status_code}", _retry_after(exc)) from None
            raise RequestError(f"HTTP {exc.status_code}: {exc.message}") from None
        except openai.APITimeoutError:
            raise RetryableError("request timed out") from None
        except openai.APIConnectionError as exc:
            raise RetryableError(f"connection failed: {exc.__cause__ or exc}") from None
        except (openai.APIResponseValidationError, json.JSONDecodeError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            raise RetryableError(f"malformed response body: {type(exc).__name__}") from None

    def request_body(self, request: Request) -> tuple[str, dict[str, Any]]:
        """The endpoint path (under the base URL) and JSON body that ask ``request``."""
        if isinstance(request, LoglikelihoodRequest):
            return "/completions", {"model": self.model, "prompt": request.context + request.continuation,
                                    "max_tokens": 1, "temperature": 0.0, "echo": True, "logprobs": 1}
        return self._generate_body(request)

    def parse_reply(self, request: Request, body: dict[str, Any]) -> Result:
        """The result in a reply body (online or from a batch output line); malformed → ValueError/KeyError."""
        if isinstance(request, LoglikelihoodRequest):
            return self._loglikelihood_result(request, body)
        return self._generate_result(request, body)

    # -- batch API (/v1/files + /v1/batches): see evalkit/execution/batch_api.py -----------------------
    async def upload_batch_file(self, content: bytes) -> str:
        reply = await self._guarded(self.client.files.create(file=("batch.jsonl", content, "application/jsonl"),
                                                             purpose="batch"))
        return str(reply.id)

    async def create_batch(self, input_file_id: str, endpoint: str) -> str:
        reply = await self._guarded(self.client.batches.create(input_file_id=input_file_id, endpoint=endpoint,  # type: ignore[arg-type]
                                                               completion_window="24h"))
        return str(reply.id)

    async def retrieve_batch(self, batch_id: str) -> BatchState:
        reply = await self._guarded(self.client.batches.retrieve(batch_id))
        errors = [f"{e.code}: {e.message}" for e in (reply.errors.data or [])] if reply.errors else []
        return BatchState(status=str(reply.status), output_file_id=reply.output_file_id,
                          error_file_id=reply.error_file_id, errors=tuple(errors))

    async def file_content(self, file_id: str) -> bytes:
        reply = await self._guarded(self.client.files.content(file_id))
        return bytes(reply.content)

    def _generate_body(self, request: GenerateRequest) -> tuple[str, dict[str, Any]]:
        params: dict[str, Any] = {
            "model": self.model,
            "max_completion_tokens" if self.max_completion_tokens else "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
        }
        if self.reasoning_effort:
            params["reasoning_effort"] = self.reasoning_effort
        if request.stop:
            params["stop"] = list(request.stop)[:4]
        if request.seed is not None:
            params["seed"] = request.seed
        if request.tools is not None:
            params["tools"] = json.loads(request.tools)
            if request.tool_choice is not None:
                params["tool_choice"] = request.tool_choice
        if request.prompt is not None and self.use_completions:
            return "/completions", {"prompt": request.prompt, **params}
        return "/chat/completions", {"messages": request.chat_messages(), **params}

    def _generate_result(self, request: GenerateRequest, body: dict[str, Any]) -> GenerateResult:
        calls: tuple[ToolCall, ...] = ()
        reasoning: Any = None
        choice = body["choices"][0]
        if request.prompt is not None and self.use_completions:
            text = choice["text"]
        else:
            message = choice["message"]
            text = message.get("content")
            calls = _tool_calls(message)
            # vLLM/DeepSeek return the thinking apart; a reasoning model cut off while thinking has no content
            reasoning = message.get("reasoning_content") or message.get("reasoning")
            if text is None and (calls or isinstance(reasoning, str)):
                text = ""  # a reply that only calls tools, or only thought, has no content
        if not isinstance(text, str):
            raise ValueError("response has no text")
        return GenerateResult(text=text, finish_reason=choice.get("finish_reason"), usage=_usage(body),
                              tool_calls=calls,
                              reasoning=reasoning if isinstance(reasoning, str) and reasoning else None)

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST through the SDK client (its auth, transport, timeouts and error types) but skip its
        per-call parameter transform and model construction: ~1 ms of CPU per request, which at
        64-way concurrency is most of the harness's own cost. The reply is checked where it is read."""
        reply = await self.client.post(path, body=body, cast_to=object)
        if not isinstance(reply, dict):
            raise ValueError("response body is not a JSON object")
        return reply

    def _loglikelihood_result(self, request: LoglikelihoodRequest, body: dict[str, Any]) -> LoglikelihoodResult:
        """Score the continuation from the prompt's own log-probabilities (``echo`` + ``logprobs``)."""
        text = request.context + request.continuation
        choice = body["choices"][0]
        logprobs = choice.get("logprobs") or {}
        tokens = logprobs.get("tokens")
        values = logprobs.get("token_logprobs")
        offsets = logprobs.get("text_offset")
        if not tokens or not values or not offsets or not (choice.get("text") or "").startswith(text):
            # llama.cpp's server ignores echo and returns only the generated token's logprob:
            # summing that would silently score every choice alike, so stop the run instead
            raise BackendError(f"{self.base_url} does not return prompt log-probabilities (/v1/completions with "
                               "echo + logprobs), so it cannot score multiple choice by log-likelihood "
                               "(vLLM can; llama.cpp's server cannot): use --mode generate or --model hf:PATH")
        total, greedy, count = continuation_logprob(tokens, values, offsets, logprobs.get("top_logprobs"),
                                                    len(request.context), len(text))
        return LoglikelihoodResult(logprob=total, is_greedy=greedy, n_tokens=count, usage=_usage(body))


def _tool_calls(message: dict[str, Any]) -> tuple[ToolCall, ...]:
    """The message's ``tool_calls`` (function calls only), arguments kept as the JSON text the server sent."""
    calls = []
    for call in message.get("tool_calls") or ():
        function = call["function"]
        arguments = function.get("arguments")
        if not isinstance(function["name"], str):
            raise ValueError("a tool call has no function name")
        calls.append(ToolCall(name=function["name"], arguments=arguments if isinstance(arguments, str)
                              else json.dumps(arguments or {})))
    return tuple(calls)


def _usage(body: dict[str, Any]) -> Usage:
    usage = body.get("usage") or {}
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    details = usage.get("completion_tokens_details") or {}
    return Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0),
                 cached_prompt_tokens=int(cached or 0), reasoning_tokens=int(details.get("reasoning_tokens") or 0))


def continuation_logprob(tokens: list[str], values: list[float | None], offsets: list[int],
                         top: list[dict[str, float] | None] | None, start: int, end: int) -> tuple[float, bool, int]:
    """Sum the logprobs of the echoed tokens that cover text[start:end] (the continuation).

    A token that straddles the boundary holds the continuation's first characters, so it counts as
    continuation. Tokens at or past ``end`` are the generated one and are ignored.
    """
    total, greedy, count = 0.0, True, 0
    for i, (token, offset) in enumerate(zip(tokens, offsets)):
        if offset >= end:
            break
        if offset + len(token) <= start:
            continue
        value = values[i] if i < len(values) else None
        if value is None:
            raise RequestError(f"the server gave no logprob for continuation token {token!r}")
        total += value
        count += 1
        candidates = top[i] if top is not None and i < len(top) else None
        if candidates and max(candidates, key=candidates.__getitem__) != token:
            greedy = False
    if count == 0:
        raise RequestError("the server's echoed tokens do not cover the continuation")
    return total, greedy, count


def create(name: str, options: Any) -> OpenAIBackend:
    return OpenAIBackend(name, base_url=options.base_url, timeout=options.timeout,
                         reasoning_effort=options.reasoning_effort, max_completion_tokens=options.max_completion_tokens)


def create_completions(name: str, options: Any) -> OpenAIBackend:
    """Raw-text prompts go to /v1/completions (base models behind vLLM or llama.cpp)."""
    return OpenAIBackend(name, base_url=options.base_url, timeout=options.timeout, use_completions=True,
                         reasoning_effort=options.reasoning_effort, max_completion_tokens=options.max_completion_tokens)
