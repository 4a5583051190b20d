"""Text ↔ tokens as every local backend (hf, vllm) does it, so both see the very same token ids.

One tokenizer wrapper holds lm-evaluation-harness's rules: the context/continuation split of a
log-likelihood request, the BOS default, the chat template, and the text a generation continues.
Also the two rules of generation that do not depend on the engine: stop strings are cut from the
generated text, and a sampled row's seed depends on its request alone. No torch import here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from evalkit.errors import BackendError
from evalkit.types import GenerateRequest, Message


class TextCodec:
    """A transformers tokenizer with the encoding rules local backends share."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    @property
    def eos_id(self) -> int:
        return int(self.tokenizer.eos_token_id if self.tokenizer.eos_token_id is not None else 0)

    @property
    def pad_id(self) -> int:
        return int(self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.eos_id)

    @property
    def prefix_id(self) -> int:
        """The token that stands in for an empty context (BOS, else EOS), as lm-evaluation-harness."""
        bos = self.tokenizer.bos_token_id
        return int(bos) if bos is not None else self.eos_id

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def encode(self, text: str, special: bool | None = None) -> list[int]:
        """Token ids; ``special=None`` means the tokenizer's own default (a BOS for Llama-style
        tokenizers), except when the text already starts with the BOS string (lm-eval 0.4.x)."""
        if special is None:
            bos = self.tokenizer.bos_token
            special = not (bos and text.startswith(bos))
        return list(self.tokenizer(text, add_special_tokens=special)["input_ids"])

    def decode(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=True))

    def apply_chat_template(self, messages: list[Message]) -> str:
        return str(self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))

    def encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """(context tokens, continuation tokens) as lm-evaluation-harness splits them: trailing
        spaces of the context move to the continuation, the two are tokenised together and the
        continuation is what follows the context's own tokens; an empty context is the prefix token."""
        if not context:
            tokens, prefix = self.encode(continuation, special=False), self.prefix_id
            return ([prefix], tokens) if tokens[:1] != [prefix] else (tokens[:1], tokens[1:])
        spaces = len(context) - len(context.rstrip())
        if spaces:
            context, continuation = context[:-spaces], context[-spaces:] + continuation
        whole = self.encode(context + continuation)
        context_ids = self.encode(context)
        return context_ids, whole[len(context_ids):]

    def render(self, request: GenerateRequest, use_chat_template: bool) -> str:
        """The exact text the model continues: the chat template for chat requests when enabled;
        raw prompts are never templated."""
        if request.messages is None:
            return request.prompt or ""
        messages = request.chat_messages()
        if use_chat_template:
            return self.apply_chat_template(messages)
        return "\n\n".join(m["content"] for m in messages)

    def prompt_ids(self, request: GenerateRequest, use_chat_template: bool, max_length: int) -> list[int]:
        """The prompt's tokens, keeping the end of an over-long prompt (room left for max_tokens),
        as lm-evaluation-harness does."""
        ids = self.encode(self.render(request, use_chat_template))
        room = max(1, max_length - request.max_tokens)
        return ids[-room:]


def decide_chat_template(requested: bool | None, has_template: bool, source: str) -> bool:
    """``--chat-template/--no-chat-template``; by default the template is used when there is one."""
    if requested is None:
        return has_template
    if requested and not has_template:
        raise BackendError(f"{source} has no chat template; drop --chat-template (plain text is used)")
    return requested


def row_seed(request: GenerateRequest) -> int | None:
    """Greedy rows need no seed; a sampled row's stream depends on its seed and prompt only,
    never on which batch it landed in."""
    if request.temperature <= 0:
        return None
    blob = f"{request.seed or 0}|{request.replica}|{request.prompt_text()}".encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "little") & (2**63 - 1)


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """The text up to the first stop string, and whether one was found."""
    cuts = [text.find(s) for s in stop if s and s in text]
    if not cuts:
        return text, False
    return text[: min(cuts)], True
