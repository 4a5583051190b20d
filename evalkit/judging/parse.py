"""Strict verdict parsing: a verdict counts only as the final statement after a non-empty rationale.

Pure functions, no I/O. A reply is *invalid* (never guessed) when it has no verdict line, more than
one, a label the template does not allow, a verdict followed by more text, or nothing before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

POINTWISE_LABELS = ("PASS", "FAIL")
PAIRWISE_LABELS = ("A", "B", "TIE")



@lru_cache(maxsize=8)
def _verdict_line(keyword: str) -> re.Pattern[str]:
    """``KEYWORD: X`` — the keyword in capitals, as the templates ask, so "my verdict: ..." in prose is
    not one — with optional markdown emphasis around the keyword or the label ("**VERDICT:** A")."""
    return re.compile(re.escape(keyword) + r"[*_`\s]*:[*_`\s]*([A-Za-z0-9_]+)\b")


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


def parse_verdict(text: str | None, labels: tuple[str, ...], keyword: str = "VERDICT") -> Parsed:
    """Apply the strict rules to one judge reply.

    ``labels`` are the allowed verdicts, matched in any case and returned as written there; ``keyword``
    introduces the verdict line (``VERDICT`` for pass/fail and pairwise judges, ``CLASS`` for the refusal
    judge). Problems name the keyword's noun ("no verdict line", "2 class lines", …).
    """
    noun = keyword.lower()
    if not text or not text.strip():
        return Parsed(None, "", "empty reply")
    matches = list(_verdict_line(keyword).finditer(text))
    if not matches:
        return Parsed(None, text.strip(), f"no {noun} line")
    if len(matches) > 1:
        return Parsed(None, text.strip(), f"{len(matches)} {noun} lines (exactly one is allowed)")
    match = matches[0]
    canonical = {label.upper(): label for label in labels}
    label = canonical.get(match.group(1).upper())
    rationale = text[: match.start()].strip()
    if label is None:
        return Parsed(None, rationale, f"unknown {noun} {match.group(1)!r} (allowed: {', '.join(labels)})")
    if _TRAILER.fullmatch(text[match.end():]) is None:
        return Parsed(None, rationale, f"text after the {noun} (the {noun} must be the final statement)")
    if not _WORD.search(rationale):
        return Parsed(None, rationale, f"no rationale before the {noun}")
    return Parsed(label, rationale)
