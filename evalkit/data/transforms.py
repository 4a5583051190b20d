"""Helpers a spec's field expressions may call, for data that needs more than a mapping.

``shuffled(items, key)``: the items in an order fixed by ``key`` alone (e.g. GPQA's Record ID): a
SHA-256 of the key seeds the shuffle, so every run, machine and Python version gets the same order, and
``shuffled(range(4) | list, key)`` gives the same permutation of the positions (where item 0 went:
``shuffled(range(4) | list, key).index(0)``). GPQA's CSV lists the correct answer first; without this a
model that always answers A would score 100%.

``regex_replace(text, pattern, replacement)`` (a filter): ``re.sub``.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from typing import Any


def shuffled(items: Sequence[Any], key: object) -> list[Any]:
    """A copy of ``items`` in the order seeded by ``key`` (same key and length: same permutation)."""
    seed = int.from_bytes(hashlib.sha256(str(key).encode("utf-8")).digest()[:8], "big")
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    return [items[i] for i in order]


def regex_replace(text: str, pattern: str, replacement: str = "") -> str:
    return re.sub(pattern, replacement, text)
