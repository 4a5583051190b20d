"""Frozen records that flow between the stages: samples, requests, results.

Requests are plain data so they can be hashed into cache keys and replayed; results are
JSON-serialisable so they can be journaled before scoring.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": str}


@dataclass(frozen=True)
class Sample:
    """One benchmark item, as loaded from data, before any prompt is rendered."""

    id: str
    input: Any
    target: Any
    choices: tuple[str, ...] | None = None
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class GenerateRequest:
    """Ask the model for text. Exactly one of ``messages`` (chat) or ``prompt`` (raw text)."""

    messages: tuple[tuple[str, str], ...] | None = None  # ((role, content), ...)
    prompt: str | None = None
    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    replica: int = 0  # distinguishes repeated samples (pass@k) in the cache key
    tools: str | None = None  # the OpenAI ``tools`` list as canonical JSON (a string keeps requests hashable)
    tool_choice: str | None = None  # "auto" | "required" | "none"; None: the server's default
    kind: Literal["generate"] = "generate"

    def chat_messages(self) -> list[Message]:
        """Messages in the OpenAI wire format (a raw prompt becomes one user turn)."""
        if self.messages is not None:
            return [{"role": r, "content": c} for r, c in self.messages]
        return [{"role": "user", "content": self.prompt or ""}]

    def prompt_text(self) -> str:
        """Human-readable rendering of what was asked, for samples.jsonl."""
        if self.prompt is not None:
            return self.prompt
        return "\n\n".join(f"[{r}]\n{c}" for r, c in self.messages or ())


@dataclass(frozen=True)
class LoglikelihoodRequest:
    """Log-probability of ``continuation`` given ``context`` (tokenised together)."""

    context: str
    continuation: str
    kind: Literal["loglikelihood"] = "loglikelihood"

    def prompt_text(self) -> str:
        return self.context


Request = GenerateRequest | LoglikelihoodRequest


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0  # the part of prompt_tokens the provider served from its prompt cache
    reasoning_tokens: int = 0  # part of completion_tokens (``completion_tokens_details.reasoning_tokens``)


@dataclass(frozen=True)
class ToolCall:
    """One function call a model made: its name and its arguments as the JSON text the API returned."""

    name: str
    arguments: str


@dataclass(frozen=True)
class GenerateResult:
    text: str
    finish_reason: str | None = None
    usage: Usage = Usage()
    reasoning: str | None = None  # a server's separate ``reasoning_content`` (scoring/reasoning.py)
    tool_calls: tuple[ToolCall, ...] = ()
    kind: Literal["generate"] = "generate"


@dataclass(frozen=True)
class LoglikelihoodResult:
    logprob: float
    is_greedy: bool
    n_tokens: int = 0
    usage: Usage = Usage()
    kind: Literal["loglikelihood"] = "loglikelihood"


Result = GenerateResult | LoglikelihoodResult


def request_payload(request: Request) -> dict[str, Any]:
    """The request as plain JSON-able data (the part that determines the answer).

    Fields are flat values and tuples of strings, so ``vars`` gives what ``asdict`` would, ten times faster.
    Fields added after the first release are left out while unset, so cache keys made before them still hit.
    """
    payload = dict(vars(request))
    for name in _LATER_FIELDS:
        if payload.get(name, 0) is None:
            del payload[name]
    return payload


_LATER_FIELDS = ("tools", "tool_choice")


def request_key(backend_identity: str, request: Request) -> str:
    """Cache key: hash of the endpoint/model identity and every request parameter."""
    blob = json.dumps({"backend": backend_identity, "request": request_payload(request)}, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def result_to_json(result: Result) -> str:
    return json.dumps(asdict(result), ensure_ascii=False)


def result_from_json(text: str) -> Result:
    data = json.loads(text)
    usage = Usage(**data.pop("usage", {}))
    if data.get("kind") == "loglikelihood":
        return LoglikelihoodResult(usage=usage, **data)
    calls = tuple(ToolCall(**call) for call in data.pop("tool_calls", ()))
    return GenerateResult(usage=usage, tool_calls=calls, **data)
