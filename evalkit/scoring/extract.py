"""Pull a final answer out of free model text. Pure functions; each returns None when nothing is found."""

from __future__ import annotations

import re

_NUMBER = re.compile(r"-?\$?\s?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def extract_regex(text: str, pattern: str, group: int = 1, select: str = "first") -> str | None:
    """The given group of the first (or last) match of ``pattern``."""
    matches = list(re.finditer(pattern, text, flags=re.MULTILINE))
    if not matches:
        return None
    match = matches[0] if select == "first" else matches[-1]
    value = match.group(group) if match.re.groups >= group else match.group(0)
    return value.strip() if value is not None else None


def extract_last_number(text: str) -> str | None:
    """The last number in the text ("42 apples", "**42**", "$1,234.50" all work)."""
    matches = _NUMBER.findall(text)
    return matches[-1] if matches else None


def normalize_number(value: str | None) -> str | None:
    """Canonical form for comparing numbers: no $ or commas, no trailing '.', '3.0' → '3'."""
    if value is None:
        return None
    cleaned = value.replace(",", "").replace("$", "").replace(" ", "").rstrip(".")
    try:
        number = float(cleaned)
    except ValueError:
        return cleaned or None
    if number.is_integer():
        return str(int(number))
    return repr(number)
