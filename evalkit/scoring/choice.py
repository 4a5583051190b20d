"""Find which lettered option a model chose in free text. Pure functions; None means no valid choice.

Models answer "B", "(B)", "B. Paris", "The answer is B.", "**Answer:** (c)" or just repeat the option's
text. Patterns are tried from the most explicit to the least; a letter outside the offered options
never counts, so "A" as an English article is not mistaken for option A unless it stands alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

_MARKUP = re.compile(r"[*_`#]+")
# "answer is B", "Answer: (b)", "correct option is: C", "I choose C", "final answer: [D]". A bare
# letter must be a capital (or a lowercase one that ends the sentence) so "the answer is a plant" is no A.
_LETTER = r"(?:[\(\[]([A-Za-z])[\)\]]|([A-Z])(?![A-Za-z'])|([a-z])(?=\s*$|[.,;:!)]))"
_STATED = re.compile(
    r"(?i:answer|option|choice)\s*(?i:is|would be|should be|will be)?\s*(?i:option|choice)?\s*[:=\-]?\s*" + _LETTER
)
_CHOOSE = re.compile(r"\b(?:I (?i:would )?(?i:choose|pick|select))\s*" + _LETTER)
# the whole reply is a letter: "B", "(B)", "B.", "[b]"
_ALONE = re.compile(r"^[\(\[]?([A-Za-z])[\)\]]?[.:]?$")
# the reply opens with a labelled option: "B. …", "B) …", "(B) …", "B: …"
_LEADING = re.compile(r"^(?:\(([A-Za-z])\)|([A-Za-z])[.):])(?:\s|$)")
# a parenthesised letter anywhere: "… so (C) is right"
_PAREN = re.compile(r"\(([A-Z])\)")


def _normalise_text(text: str) -> str:
    return " ".join(text.lower().strip().rstrip(".").split())


def extract_choice(text: str, n_choices: int, choices: Sequence[str] | None = None) -> int | None:
    """The 0-based index of the chosen option among ``n_choices`` lettered A, B, …, or None.

    With ``choices`` given, a reply that is exactly one option's text (ignoring case, spaces and a
    final full stop) also counts as choosing it.
    """
    valid = LETTERS[:n_choices]
    cleaned = _MARKUP.sub("", text).strip()
    if not cleaned:
        return None

    def pick(letter: str | None, case_sensitive: bool = False) -> int | None:
        if letter is None:
            return None
        letter = letter if case_sensitive else letter.upper()
        return valid.index(letter) if letter in valid else None

    for pattern in (_STATED, _CHOOSE):
        hits = [pick(next(g for g in m.groups() if g)) for m in pattern.finditer(cleaned)]
        hits = [h for h in hits if h is not None]
        if hits:
            return hits[-1]  # the last stated answer is the final one
    first_line = cleaned.splitlines()[0].strip()
    alone = _ALONE.match(first_line)
    if alone:
        found = pick(alone.group(1))
        if found is not None:
            return found
    leading = _LEADING.match(first_line)
    if leading:
        found = pick(leading.group(1) or leading.group(2), case_sensitive=True)
        if found is not None:
            return found
    parens = {pick(m.group(1), case_sensitive=True) for m in _PAREN.finditer(cleaned)} - {None}
    if len(parens) == 1:
        return parens.pop()
    if choices:
        wanted = _normalise_text(cleaned)
        matches = [i for i, choice in enumerate(choices[:n_choices]) if _normalise_text(choice) == wanted]
        if len(matches) == 1:
            return matches[0]
    return None
