"""Model families from names, so self-enhancement needs no hand-labelling.

A name is reduced to its last path part without a provider prefix (``openai:gpt-4o`` → ``gpt-4o``,
``hf:HuggingFaceTB/SmolLM2-135M`` → ``smollm2-135m``, ``arena_hard:claude-3-haiku`` → ``claude-3-haiku``)
and matched, lower-cased, against ``FAMILY_TABLE`` in order; the first pattern found anywhere in it
names the family. Names no pattern matches fall back to their leading letters (``alpha-7b`` →
``alpha``). ``--family NAME=FAMILY`` overrides any of this. Fine-tunes of a base model share its
family (Alpaca and Vicuna are LLaMA fine-tunes), and an AlpacaEval annotator is named after its
judge model: ``weighted_alpaca_eval_gpt4_turbo`` is GPT-4 Turbo, family ``gpt``.
"""

from __future__ import annotations

import re

# (pattern, family), first match wins: the judge-model patterns come before the fine-tune ones so
# "weighted_alpaca_eval_gpt4_turbo" is gpt, not llama.
FAMILY_TABLE: tuple[tuple[str, str], ...] = (
    (r"gpt|chatgpt|davinci|(?<![a-z0-9])o[1-9](?![0-9])|openai", "gpt"),
    (r"claude|anthropic", "claude"),
    (r"gemini|gemma|palm|bard", "gemini"),
    (r"mistral|mixtral|ministral|codestral", "mistral"),
    (r"qwen|qwq", "qwen"),
    (r"deepseek", "deepseek"),
    (r"llama|alpaca|vicuna|koala|guanaco|tulu|wizardlm", "llama"),
    (r"(?<![a-z])phi(?![a-z])", "phi"),
    (r"smollm", "smollm"),
    (r"command|cohere|aya", "cohere"),
    (r"grok", "grok"),
    (r"(?<![a-z])yi(?![a-z])", "yi"),
)
_COMPILED = tuple((re.compile(pattern), fam) for pattern, fam in FAMILY_TABLE)


def base_name(name: str) -> str:
    """The model part of a name: provider prefix and path dropped, lower-cased."""
    return name.split(":", 1)[-1].rstrip("/").split("/")[-1].lower()


def family(name: str, overrides: dict[str, str] | None = None) -> str:
    """The family of a judge or model name (``overrides`` first, by exact name)."""
    if overrides and name in overrides:
        return overrides[name]
    base = base_name(name)
    for pattern, fam in _COMPILED:
        if pattern.search(base):
            return fam
    match = re.match(r"[a-z]+", base)
    return match.group(0) if match else base
