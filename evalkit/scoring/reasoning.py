"""Separate a reasoning model's thinking from its answer, and tell a cut-off reply from a finished one.

Reasoning models either write their thinking inline, as a leading ``<think>…</think>`` block (DeepSeek-R1,
Qwen3, QwQ), or the server returns it apart, in ``reasoning_content`` (vLLM and DeepSeek's API), which the
backend keeps in ``GenerateResult.reasoning``. Only the answer after the block is scored, so "the answer
is 5" written while thinking never counts. A reply whose thinking never closes has no answer: it is
*truncated*, scored as failed and counted apart, never parsed for whatever number it happens to end on.
So is a reply that stopped at the token limit (``finish_reason == "length"``) before any answer could be
found in it; one that gave its answer and then ran on to the limit is scored (samples.jsonl keeps its
``finish_reason``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evalkit.types import GenerateResult

_OPEN = re.compile(r"^\s*<(think|thinking|reasoning)>", re.IGNORECASE)
_CLOSE = {"think": re.compile(r"</think>", re.IGNORECASE), "thinking": re.compile(r"</thinking>", re.IGNORECASE),
          "reasoning": re.compile(r"</reasoning>", re.IGNORECASE)}
# some chat templates put "<think>" in the prompt, so the reply starts inside the block: "…</think>answer"
_BARE_CLOSE = re.compile(r"</think>", re.IGNORECASE)


@dataclass(frozen=True)
class Reply:
    """A model reply split for scoring."""

    answer: str  # what extractors see
    reasoning: str | None  # the thinking (inline block or the server's reasoning_content), kept in samples.jsonl
    unclosed: bool  # the thinking never closed: there is no answer
    at_limit: bool  # the reply stopped at the token limit

    def truncation(self, answer_found: bool) -> str | None:
        """Why this reply counts as truncated (scored as failed), or None when it is scored normally."""
        if self.unclosed:
            return "unclosed reasoning"
        if self.at_limit and not answer_found:
            return "token limit"
        return None


def split_reasoning(text: str) -> tuple[str, str | None, bool]:
    """(answer, reasoning, closed) for a reply that may open with a reasoning block.

    A reply with no block is all answer. A reply with an opening tag and no closing one is all reasoning
    (closed is False). A reply with a closing ``</think>`` but no opening tag (the template opened it) is
    split at the first close.
    """
    opened = _OPEN.match(text)
    if opened:
        close = _CLOSE[opened.group(1).lower()].search(text, opened.end())
        if close is None:
            return "", text[opened.end():].strip(), False
        return text[close.end():].strip(), text[opened.end():close.start()].strip(), True
    bare = _BARE_CLOSE.search(text)
    if bare is not None and "<think>" not in text[:bare.start()].lower():
        return text[bare.end():].strip(), text[:bare.start()].strip(), True
    return text, None, True


def split_reply(result: GenerateResult) -> Reply:
    """The scoring view of one generation: answer, reasoning, and whether it was cut off."""
    answer, inline, closed = split_reasoning(result.text)
    parts = [p for p in (result.reasoning, inline) if p]
    reasoning = "\n\n".join(parts) if parts else None
    return Reply(answer=answer if closed else "", reasoning=reasoning, unclosed=not closed,
                 at_limit=result.finish_reason == "length")
