"""Pull a final answer out of free model text. Pure functions; each returns None when nothing is found."""

from __future__ import annotations

import re

_NUMBER = re.compile(r"-?\$?\s?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def extract_regex(text: str, pattern: str, group: int = 1, select: str = "first") -> str | None:
    """The given group of the first (or last) match of ``pattern``.

    When that group did not take part in the match (an alternation such as lm-evaluation-harness's
    ``(-?[$0-9.,]{2,})|(-?[0-9]+)``), the first group that did is used, as lm-eval's regex filter does.
    """
    matches = list(re.finditer(pattern, text, flags=re.MULTILINE))
    if not matches:
        return None
    match = matches[0] if select == "first" else matches[-1]
    value = match.group(group) if match.re.groups >= group else match.group(0)
    if value is None:
        value = next((g for g in match.groups() if g), None)
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


_BOXED = re.compile(r"\\(?:boxed|fbox)\s*(\{)?")


def extract_last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{…}`` (or ``\\fbox{…}``), nested braces included.

    ``\\boxed 5`` (no braces) yields the token after it. An unclosed last box yields None.
    """
    matches = list(_BOXED.finditer(text))
    if not matches:
        return None
    match = matches[-1]
    start = match.end()
    if match.group(1) is None:  # "\boxed 5$" → "5"
        token = re.match(r"[^\s$]+", text[start:])
        return token.group(0) if token else None
    depth = 1
    for i in range(start, len(text)):
        char = text[i]
        if char == "{" and text[i - 1] != "\\":  # an escaped \{ or \} is content, not nesting
            depth += 1
        elif char == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[start:i].strip()
    return None

