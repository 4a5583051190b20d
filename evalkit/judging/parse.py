"""Strict verdict parsing: a verdict counts only as the final statement after a non-empty rationale.

Pure functions, no I/O. A reply is *invalid* (never guessed) when it has no verdict line, more than
one, a label the template does not allow, a verdict followed by more text, or nothing before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

POINTWISE_LABELS = ("PASS", "FAIL")
PAIRWISE_LABELS = ("A", "B", "TIE")

# "VERDICT: X" (the keyword in capitals, as the templates ask, so "my verdict: ..." in prose is not one),
# with optional markdown emphasis around the keyword or the label ("**VERDICT:** A"); label any case.
_VERDICT = re.compile(r"VERDICT[*_`\s]*:[*_`\s]*([A-Za-z]+)\b")
_TRAILER = re.compile(r"[\s*_`.!\]\)]*")  # what may follow the verdict: closing markup, a full stop
_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class Parsed:
    """The verdict (None when invalid), the rationale before it, and why it is invalid."""

    verdict: str | None
    rationale: str
    problem: str | None = None

    @property
    def valid(self) -> bool:
        return self.verdict is not None


def parse_verdict(text: str | None, labels: tuple[str, ...]) -> Parsed:
    """Apply the strict rules to one judge reply; ``labels`` are the allowed verdicts (upper case)."""
    if not text or not text.strip():
        return Parsed(None, "", "empty reply")
    matches = list(_VERDICT.finditer(text))
    if not matches:
        return Parsed(None, text.strip(), "no verdict line")
    if len(matches) > 1:
        return Parsed(None, text.strip(), f"{len(matches)} verdict lines (exactly one is allowed)")
    match = matches[0]
    label = match.group(1).upper()
    rationale = text[: match.start()].strip()
    if label not in labels:
        return Parsed(None, rationale, f"unknown verdict {match.group(1)!r} (allowed: {', '.join(labels)})")
    if _TRAILER.fullmatch(text[match.end():]) is None:
        return Parsed(None, rationale, "text after the verdict (the verdict must be the final statement)")
    if not _WORD.search(rationale):
        return Parsed(None, rationale, "no rationale before the verdict")
    return Parsed(label, rationale)
