"""Frozen records that flow between the stages: samples, requests, results, outcomes, scores, judgments.

This is the bottom layer: everything may import it, it imports nothing of evalkit's. Requests are
plain data so they can be hashed into cache keys and replayed; results are JSON-serialisable so they
can be journaled before scoring. The flow::

    Sample ─kind.requests─► Request ─backend─► Result ─executor─► Outcome ─kind.score─► Scored
    Scored ─kind.judge_requests / judge─► JudgeAnswer ─kind.apply_judgments─► Scored (+ JudgmentRow)
    Scored, MetricInfo ─stats.aggregate─► results.json
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
class RequestRef:
    """Which sample asked a request, and where it sits among that sample's results.

    Not part of the request's identity (cache key): the same prompt asked by two samples is one model
    call. Only a backend that looks answers up by sample (``Backend.is_lookup``: a predictions file)
    reads it.
    """

    benchmark: str
    sample_id: str
    index: int  # position among the sample's requests of this round
    of: int  # how many requests the sample asks in this round
    turn: int = 1  # 1: the first round; 2: a dependent round (``next_requests``)


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
    ref: RequestRef | None = field(default=None, compare=False, hash=False)  # who asked; not in the key

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
    ref: RequestRef | None = field(default=None, compare=False, hash=False)  # who asked; not in the key

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
    Fields added after the first release are left out while unset, so cache keys made before them still hit;
    ``ref`` (who asked) is left out always: it does not change the answer.
    """
    payload = dict(vars(request))
    del payload["ref"]
    for name in _LATER_FIELDS:
        if payload.get(name, 0) is None:
            del payload[name]
    return payload


_LATER_FIELDS = ("tools", "tool_choice")


def request_key(backend_identity: str, request: Request, by_sample: bool = False) -> str:
    """Cache key: hash of the endpoint/model identity and every request parameter.

    ``by_sample`` adds who asked (``request.ref``), for backends whose answer depends on the sample
    rather than on the prompt (a predictions file: two samples with one prompt have two answers).
    """
    body: dict[str, Any] = {"backend": backend_identity, "request": request_payload(request)}
    if by_sample:
        body["ref"] = asdict(request.ref) if request.ref is not None else None
    blob = json.dumps(body, sort_keys=True)
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


@dataclass(frozen=True)
class Outcome:
    """What became of one request: a result, or the error that exhausted its retries."""

    result: Result | None
    error: str | None = None
    cached: bool = False
    cost_usd: float | None = None  # what this run paid for it: 0 when cached, None when the model has no price


@dataclass(frozen=True)
class MetricInfo:
    """A metric a kind reports: its name, and whether higher is better (for the gate and report)."""

    name: str
    higher_is_better: bool = True


@dataclass(frozen=True)
class JudgmentRow:
    """One judge call that counts (after its retry): a row of ``<run>/judgments.jsonl``.

    The field names are the file's columns (docs/judges.md). In order "ab" model_a's response was shown
    as Response A; in "ba" as Response B. ``score`` is model_a's score from this call (1 win, 0.5 tie,
    0 loss; PASS = 1); ``len_a``/``len_b`` are characters of each response; ``gold`` the better model,
    "tie", or PASS/FAIL when known; ``probe`` "padding" for the padding probe; ``problem`` why a reply
    was invalid.
    """

    benchmark: str
    id: str
    judge: str
    kind: Literal["pairwise", "pointwise"]
    model_a: str
    model_b: str | None
    order: Literal["ab", "ba"]
    verdict: str | None
    winner: str | None
    valid: bool
    rationale: str | None = None
    score: float | None = None
    len_a: int | None = None
    len_b: int | None = None
    md_a: dict[str, int] | None = None  # markdown counts {headers, bold, lists} of each response (style control)
    md_b: dict[str, int] | None = None
    gold: str | None = None
    probe: str | None = None
    category: str | None = None
    retried: bool = False
    problem: str | None = None
    template: str | None = None
    source: str | None = None  # where the pair came from (JudgeBench)

    def as_dict(self) -> dict[str, Any]:
        """The judgments.jsonl row."""
        return dict(vars(self))


@dataclass(frozen=True)
class JudgeAnswer:
    """A judge's final outcome for one judge request; ``first`` is the first reply when it was re-asked."""

    outcome: Outcome
    first: Outcome | None = None

    @property
    def retried(self) -> bool:
        return self.first is not None


@dataclass(frozen=True)
class Scored:
    """One sample's verdict, as written to samples.jsonl (``extra`` holds kind-specific columns).

    Frozen: a later stage (the judge) returns a new one with ``dataclasses.replace``. ``judgments`` are
    the judge calls behind the scores, written to judgments.jsonl rather than samples.jsonl.
    """

    sample: Sample
    prompt: str
    output: str | None
    scores: dict[str, float | None]  # None = not applicable (e.g. invalid answer excluded from a metric)
    extracted: Any = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # kind-specific columns (choice_logliks, …)
    judgments: tuple[JudgmentRow, ...] = ()
