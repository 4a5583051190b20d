"""How an extracted answer is compared with the target (``options.compare`` of generate benchmarks).

The same comparison decides which sampled answers are one vote in ``cons@N`` (scoring/vote.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from evalkit.errors import ConfigError
from evalkit.scoring.extract import normalize_number


@dataclass(frozen=True)
class Comparison:
    name: str
    equal: Callable[[str | None, object], bool]


_INTEGER = re.compile(r"^[+-]?\d+(?:\.0*)?$")


def as_integer(value: str | None) -> int | None:
    """An answer written as an integer ("073", "73.", "$73$", "\\boxed{73}", "1,000") as an int, else None."""
    if value is None:
        return None
    cleaned = value.strip().replace("$", "").replace(",", "").replace(" ", "")
    cleaned = re.sub(r"^\\boxed\{(.*)\}$", r"\1", cleaned).rstrip(".")
    return int(float(cleaned)) if _INTEGER.match(cleaned) else None


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _number(got: str | None, want: object) -> bool:
    return got is not None and normalize_number(got) == normalize_number(str(want))


def _exact(got: str | None, want: object) -> bool:
    return got is not None and _collapse(got) == _collapse(str(want))


def _integer(got: str | None, want: object) -> bool:
    value, gold = as_integer(got), as_integer(str(want))
    return value is not None and value == gold


def _math(got: str | None, want: object) -> bool:
    from evalkit.scoring.math_equiv import is_equiv

    return got is not None and is_equiv(got, str(want))


def _verified(got: str | None, want: object) -> bool:
    from evalkit.scoring.verified_math import is_verified

    return is_verified(got, str(want))


COMPARISONS: dict[str, Comparison] = {
    "number": Comparison("number", _number),
    "exact": Comparison("exact", _exact),
    "integer": Comparison("integer", _integer),
    "math": Comparison("math", _math),
    "math_verify": Comparison("math_verify", _verified),
}


def comparison(name: str) -> Comparison:
    found = COMPARISONS.get(name)
    if found is None:
        raise ConfigError(f"unknown comparison {name!r}; use {', '.join(COMPARISONS)}")
    return found
