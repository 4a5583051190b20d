"""Math answers checked by ``math-verify``, Hugging Face's verifier (the one lighteval and open-r1 use), so
MATH-500 and AIME numbers are comparable with theirs.

The settings are lighteval's for MATH-500: a reply is searched for an expression and for LaTeX with a
``\\boxed{}`` answer first (``ExprExtractionConfig()``, ``LatexExtractionConfig(boxed_match_priority=0)``);
the gold answer is read as LaTeX. ``verify`` then compares them symbolically and numerically (6 decimals).
math-verify guards each parse with a SIGALRM timeout, which only works in the main thread; elsewhere the
parse runs without one.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

_TIMEOUT_SECONDS = 5


def _timeout() -> int | None:
    return _TIMEOUT_SECONDS if threading.current_thread() is threading.main_thread() else None


@lru_cache(maxsize=4096)
def _parse_reply(text: str) -> tuple[Any, ...]:
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse  # type: ignore[import-untyped]

    config = [ExprExtractionConfig(), LatexExtractionConfig(boxed_match_priority=0)]
    return tuple(parse(text, extraction_config=config, parsing_timeout=_timeout()))  # type: ignore[arg-type]


@lru_cache(maxsize=4096)
def _parse_gold(gold: str) -> tuple[Any, ...]:
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse  # type: ignore[import-untyped]

    parsed = parse(f"${gold}$", extraction_config=[LatexExtractionConfig()], parsing_timeout=_timeout())
    if not parsed:  # plain text gold, e.g. "10"
        parsed = parse(gold, extraction_config=[ExprExtractionConfig()], parsing_timeout=_timeout())
    return tuple(parsed)


# what math-verify parsed each extracted answer from, so checking it uses that parse (as lighteval does),
# not a re-parse of the matched text ("The answer is 1/2." matches "1/2.", which LaTeX does not parse)
_FOUND: dict[str, tuple[Any, ...]] = {}


def extract_answer(text: str) -> str | None:
    """The answer math-verify finds in a reply (its matched text), or None when it finds none."""
    parsed = _parse_reply(text)
    if not parsed:
        return None
    shown = str(parsed[-1]) if isinstance(parsed[-1], str) else str(parsed[0])
    if len(_FOUND) > 65536:
        _FOUND.clear()
    _FOUND[shown] = parsed
    return shown


def _as_reply(answer: str) -> str:
    """An extracted answer as math-verify would have found it in a reply."""
    return answer if "\\boxed" in answer else f"$\\boxed{{{answer}}}$"


def is_verified(answer: str | None, gold: str) -> bool:
    """True when math-verify judges ``answer`` (an extracted final answer) equal to ``gold``."""
    if answer is None:
        return False
    from math_verify import verify  # type: ignore[import-untyped]

    parsed_gold = _parse_gold(str(gold))
    parsed = _FOUND.get(answer) or _parse_reply(_as_reply(answer))
    if not parsed_gold or not parsed:
        return False
    return bool(verify(list(parsed_gold), list(parsed), timeout_seconds=_timeout()))
