"""IFEval scoring: is each verifiable instruction followed, strictly and loosely?

``follow_strict`` applies each instruction's verifier to the response as it is. ``follow_loose`` is the
official upper bound: an instruction counts as followed when any of eight variants of the response passes
(the response itself, and with its first line, last line or both removed, each also with every ``*``
removed). An empty (all-whitespace) response or variant never follows anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evalkit.scoring.ifeval.text import MissingDependency, ensure_available
from evalkit.scoring.ifeval.verifiers import VERIFIERS, checked_kwargs

INSTRUCTION_IDS: tuple[str, ...] = tuple(sorted(VERIFIERS))

__all__ = ["INSTRUCTION_IDS", "MissingDependency", "checked_kwargs", "ensure_available", "follow_loose",
           "follow_strict", "is_followed", "loose_variants"]


def is_followed(instruction_id: str, response: str, kwargs: dict[str, Any]) -> bool:
    """One instruction on one response text; ``kwargs`` as returned by ``checked_kwargs``."""
    return bool(response.strip()) and VERIFIERS[instruction_id].check(response, **kwargs)


def loose_variants(response: str) -> list[str]:
    """The eight texts the loose criterion tries, in the official order."""
    lines = response.split("\n")
    without_first = "\n".join(lines[1:]).strip()
    without_last = "\n".join(lines[:-1]).strip()
    without_both = "\n".join(lines[1:-1]).strip()
    plain = [response, without_first, without_last, without_both]
    return [response, response.replace("*", ""), *plain[1:], *(text.replace("*", "") for text in plain[1:])]


def follow_strict(instruction_ids: Sequence[str], kwargs: Sequence[dict[str, Any]], response: str) -> list[bool]:
    """Per instruction: does the response as given follow it?"""
    return [is_followed(i, response, k) for i, k in zip(instruction_ids, kwargs)]


def follow_loose(instruction_ids: Sequence[str], kwargs: Sequence[dict[str, Any]], response: str) -> list[bool]:
    """Per instruction: does any of the eight loose variants of the response follow it?"""
    variants = list(dict.fromkeys(loose_variants(response)))  # without '*' or line breaks several coincide
    return [any(is_followed(i, text, k) for text in variants) for i, k in zip(instruction_ids, kwargs)]
