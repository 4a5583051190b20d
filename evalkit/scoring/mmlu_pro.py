"""MMLU-Pro's answer extraction, as TIGER-AI-Lab's evaluation scripts do it (evaluate_from_local.py).

Three patterns, in order, each tried only when the previous one found nothing:

1. ``answer is \\(?([A-J])\\)?``: the first "answer is (X)" / "answer is X";
2. ``.*[aA]nswer:\\s*([A-J])``: "Answer: X" (the last one on the first line that has one);
3. ``\\b[A-J]\\b(?!.*\\b[A-J]\\b)`` over the whole reply: the last capital A–J standing alone.

A letter past the item's last option is simply wrong, as upstream. When nothing matches, upstream
guesses: it reseeds Python's ``random`` with 12345 and draws ``randint(0, n_options - 1)``, so the guess
depends only on the number of options; ``fallback_guess`` makes the same draw.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache

_STATED = re.compile(r"answer is \(?([A-J])\)?")
_ANSWER_COLON = re.compile(r".*[aA]nswer:\s*([A-J])")
_LAST_LETTER = re.compile(r"\b[A-J]\b(?!.*\b[A-J]\b)", re.DOTALL)
LETTERS = "ABCDEFGHIJ"


def extract_letter(text: str) -> str | None:
    """The letter TIGER-AI-Lab's extraction finds in a reply, or None."""
    for pattern in (_STATED, _ANSWER_COLON):
        match = pattern.search(text)
        if match:
            return match.group(1)
    match = _LAST_LETTER.search(text)
    return match.group(0) if match else None


@lru_cache(maxsize=32)
def fallback_guess(n_options: int) -> int:
    """Upstream's guess for an unparsed reply: ``random.seed(12345); random.randint(0, n - 1)``."""
    return random.Random(12345).randint(0, n_options - 1)
