"""Majority vote over sampled answers (``cons@N``, self-consistency).

Answers are grouped by the benchmark's own comparison (so "0.5" and "\\frac{1}{2}" are one vote under
math-verify); the largest group wins, and a tie goes to the group whose first answer came first (the
order of the samples), as a stable, documented rule. Missing answers (None: nothing extracted, or a
truncated reply) cast no vote.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def majority(answers: Sequence[str | None], same: Callable[[str | None, object], bool]) -> str | None:
    """The most common answer (its first occurrence), or None when no sample gave one."""
    groups: list[list[str]] = []
    for answer in answers:
        if answer is None:
            continue
        for group in groups:
            if same(answer, group[0]):
                group.append(answer)
                break
        else:
            groups.append([answer])
    if not groups:
        return None
    best = max(range(len(groups)), key=lambda i: (len(groups[i]), -i))
    return groups[best][0]
