"""GPQA's final-letter extraction, as lm-evaluation-harness 0.4.13's ``gpqa_*_cot_zeroshot`` flexible-extract
(``multi_choice_regex`` with ``(\\([A-Z]\\))``, ``group_select: -1``, ``ignore_case``, ``ignore_punctuation``).

In order, each tried only when the previous one found nothing:

1. the last ``(X)`` in the reply, any capital letter (a letter past D is then simply wrong);
2. the last occurrence of one of the choices' texts, compared lower-cased and without punctuation;
3. the last ``:`` followed by a bare option letter (``Answer: C``).

lm-eval also reports a strict-match (the text after the first "The answer is ", which the zero-shot prompt
never asks for); evalkit reports the flexible one, the letter the reply ends on.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

_PAREN = re.compile(r"(\([A-Z]\))")


@lru_cache(maxsize=1)
def _punctuation() -> dict[int, None]:
    return dict.fromkeys(i for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P"))


def _plain(text: str) -> str:
    return text.lower().translate(_punctuation())


def extract_letter_index(text: str, choices: Sequence[str]) -> int | None:
    """The 0-based option a reply ends on (see the module docstring), or None."""
    found = _PAREN.findall(text)
    if found:
        return ord(found[-1][1]) - ord("A")
    texts = [_plain(c.strip()) for c in choices]
    nonempty = sorted((t for t in texts if t), key=len, reverse=True)  # longest first: a prefix cannot shadow
    if nonempty:
        matches = re.findall("|".join(re.escape(t) for t in nonempty), _plain(text))
        if matches:
            return len(texts) - 1 - texts[::-1].index(matches[-1])  # lm-eval's map keeps the last
    letters = "|".join(chr(ord("A") + i) for i in range(len(choices)))
    bare = re.findall(rf":[\s]*({letters})", text)
    if bare:
        return ord(bare[-1]) - ord("A")
    return None
