"""The padding probe's verbose variant: the same response wrapped in words that add no information."""

from __future__ import annotations

import re

_OPENING = "Certainly! Here is a complete and careful answer to your request, with all the details you need.\n\n"
_CLOSING = ("\n\nTo summarize the answer above: {first}\n\nI hope this is helpful and addresses your request "
            "thoroughly. Please let me know if there is anything else you would like me to clarify.")


def pad(response: str) -> str:
    """``response`` with a stock opening, a restatement of its first sentence, and a stock closing."""
    stripped = response.strip()
    match = re.match(r"(.+?[.!?])(\s|$)", stripped, re.DOTALL)
    first = (match.group(1) if match else stripped.splitlines()[0] if stripped else "").strip()
    return _OPENING + stripped + _CLOSING.format(first=first)
