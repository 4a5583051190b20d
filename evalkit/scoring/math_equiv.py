"""Are two final answers to a MATH problem the same? ``is_equiv(pred, gold)``, after normalising LaTeX.

No computer algebra: answers are compared as normalised strings, then as exact rational numbers
(so ``0.5`` equals ``\\frac12`` but ``0.33`` does not equal ``\\frac13``), then element by element for
tuples, intervals, matrices and unordered lists. The rules are listed in docs/benchmarks.md
("MATH-500 answer equivalence"); each is tested in tests/test_math_equiv.py.
"""

from __future__ import annotations

import re
from fractions import Fraction

# -- normalisation -------------------------------------------------------------------------------

_SPACING = re.compile(r"(?<!\\)\\[!,;: ]|\\quad|\\qquad|\\displaystyle|\\textstyle|~")
_LEFT_RIGHT = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)(?![a-zA-Z])")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree")
_TEXT = re.compile(r"\\(?:text|textbf|textit|mbox|mathrm|mathbf|operatorname)\s*\{([^{}]*)\}")
# a unit after a number: "5.4 \text{ cents}", "10\mbox{ inches}^2", "\frac{270}7\text{ degrees}"
_UNIT = re.compile(r"^(.*?[\d}])\s*\\(?:text|mbox|mathrm)\s*\{\s*[a-zA-Z][a-zA-Z .]*\}(?:\^\{?[23]\}?)?$")
_UNIT_WORDS = re.compile(r"^([-+]?[\d.,/]*\d)\s*(?:degrees?|units?|cm|m|km|inches|inch|feet|foot|ft|cents?|"
                         r"dollars?|hours?|minutes?|seconds?|days?|years?|sq|square|meters?|miles?)\.?$")
_FRAC_SHORT = re.compile(r"\\frac\s*(\d|[a-zA-Z]|\{[^{}]*\})\s*(\d|[a-zA-Z]|\{[^{}]*\})")
_SQRT_SHORT = re.compile(r"\\sqrt\s*(\d+|[a-zA-Z])")
_SINGLE_BRACE = re.compile(r"([_^])\{(\w)\}")
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_ASSIGNMENT = re.compile(r"^[a-zA-Z](?:_\w|\(\w\))?\s*(?:=|\\in)\s*(?=.)")
_CHOICE = re.compile(r"^\(([A-Za-z])\)$")


def _unwrap_text(value: str) -> str:
    while True:
        new = _TEXT.sub(r"\1", value)
        if new == value:
            return value
        value = new


def normalize(answer: str) -> str:
    """Canonical string form of a final answer (see the module docstring for what counts as equal)."""
    s = answer.strip().replace("\n", " ")
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = _SPACING.sub(" ", s)
    s = _LEFT_RIGHT.sub("", s)
    s = _DEGREES.sub("", s)
    s = s.replace("\\$", "").replace("$", "").replace("\\%", "").replace("%", "")
    unit = _UNIT.match(s.strip())
    if unit:
        s = unit.group(1)
    s = _unwrap_text(s).strip()
    unit = _UNIT_WORDS.match(s)
    if unit:
        s = unit.group(1)
    s = _ASSIGNMENT.sub("", s)  # "x = 5" → "5", "x \in [-2,7]" → "[-2,7]"
    s = _FRAC_SHORT.sub(lambda m: f"\\frac{{{m.group(1).strip('{}')}}}{{{m.group(2).strip('{}')}}}", s)
    s = _SQRT_SHORT.sub(r"\\sqrt{\1}", s)
    s = s.replace(" ", "")
    s = _SINGLE_BRACE.sub(r"\1\2", s)
    s = s.rstrip(".")
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    s = re.sub(r"(^|[^\d])\.(\d)", r"\g<1>0.\2", s)  # ".5" → "0.5"
    choice = _CHOICE.match(s)
    if choice:
        s = choice.group(1).upper()
    return s


# -- exact numbers -------------------------------------------------------------------------------

_INT_OR_DEC = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)$")
_FRAC = re.compile(r"^([-+]?)\\frac\{([-+]?\d+(?:\.\d+)?)\}\{([-+]?\d+(?:\.\d+)?)\}$")
_MIXED = re.compile(r"^([-+]?)(\d+)\\frac\{(\d+)\}\{(\d+)\}$")
_SLASH = re.compile(r"^([-+]?\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)$")


def to_fraction(s: str) -> Fraction | None:
    """The exact value of a normalised plain number, fraction or mixed number, else None."""
    try:
        if _INT_OR_DEC.match(s):
            return Fraction(s)
        frac = _FRAC.match(s)
        if frac:
            value = Fraction(frac.group(2)) / Fraction(frac.group(3))
            return -value if frac.group(1) == "-" else value
        mixed = _MIXED.match(s)  # "1\frac{4}{5}" is one and four fifths, as MATH writes it
        if mixed and int(mixed.group(3)) < int(mixed.group(4)):
            value = int(mixed.group(2)) + Fraction(int(mixed.group(3)), int(mixed.group(4)))
            return -value if mixed.group(1) == "-" else value
        slash = _SLASH.match(s)
        if slash:
            return Fraction(slash.group(1)) / Fraction(slash.group(2))
    except ZeroDivisionError:
        return None
    return None


# -- structures ----------------------------------------------------------------------------------

_OPEN = "([{"
_CLOSE = ")]}"
_MATRIX = re.compile(r"^\\begin\{([pbv]?matrix)\}(.*)\\end\{\1\}$")


def split_top_level(s: str, separator: str = ",") -> list[str]:
    """Split on ``separator`` where it is not inside brackets or braces."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    i = 0
    while i < len(s):
        char = s[i]
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
        if depth == 0 and s.startswith(separator, i):
            parts.append("".join(current))
            current = []
            i += len(separator)
            continue
        current.append(char)
        i += 1
    parts.append("".join(current))
    return parts


def _enclosed(s: str) -> tuple[str, str, str] | None:
    """(open, inner, close) when the whole string is one bracketed group: "(1,2]", "\\{1,2\\}"."""
    if s.startswith("\\{") and s.endswith("\\}"):
        return "{", s[2:-2], "}"
    if len(s) >= 2 and s[0] in "([" and s[-1] in ")]":
        depth = 0
        for i, char in enumerate(s):
            depth += char in _OPEN
            depth -= char in _CLOSE
            if depth == 0 and i < len(s) - 1:
                return None  # "(a+5)(b+2)" is a product, not a tuple
        return s[0], s[1:-1], s[-1]
    return None


def _all_equiv(a: list[str], b: list[str]) -> bool:
    return len(a) == len(b) and all(_equiv(x, y) for x, y in zip(a, b))


def _unordered_equiv(a: list[str], b: list[str]) -> bool:
    if len(a) != len(b):
        return False
    remaining = list(b)
    for item in a:
        match = next((i for i, other in enumerate(remaining) if _equiv(item, other)), None)
        if match is None:
            return False
        remaining.pop(match)
    return True


def _equiv(a: str, b: str) -> bool:
    """Equivalence of two already normalised answers."""
    if a == b:
        return True
    fa, fb = to_fraction(a), to_fraction(b)
    if fa is not None and fb is not None:
        return fa == fb
    ma, mb = _MATRIX.match(a), _MATRIX.match(b)
    if ma and mb:
        rows_a, rows_b = ma.group(2).split("\\\\"), mb.group(2).split("\\\\")
        return len(rows_a) == len(rows_b) and all(_all_equiv(x.split("&"), y.split("&"))
                                                   for x, y in zip(rows_a, rows_b))
    ea, eb = _enclosed(a), _enclosed(b)
    if ea and eb:
        if ea[0] != eb[0] or ea[2] != eb[2]:
            return False
        items_a, items_b = split_top_level(ea[1]), split_top_level(eb[1])
        if ea[0] == "{":  # a set: order does not matter
            return _unordered_equiv(items_a, items_b)
        return len(items_a) > 1 and _all_equiv(items_a, items_b)
    if ea is None and eb is None:
        items_a, items_b = split_top_level(a), split_top_level(b)
        if len(items_a) > 1 and len(items_b) > 1:  # "1,-2" vs "-2,1": all solutions, any order
            return _unordered_equiv(items_a, items_b)
    return False


def is_equiv(pred: str | None, gold: str) -> bool:
    """True when ``pred`` and ``gold`` are the same answer after normalisation (None is never right)."""
    if pred is None:
        return False
    return _equiv(normalize(pred), normalize(gold))
