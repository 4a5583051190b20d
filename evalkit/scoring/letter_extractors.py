"""Named ways to read the chosen option out of a reply (``options.extractor`` of multiple-choice benchmarks).

Each takes (reply, the sample's choices) and returns a 0-based index or None (no answer found), and says
what an unparsed reply counts as: ``invalid`` (wrong, counted apart) or a benchmark-defined guess.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from evalkit.errors import ConfigError


@dataclass(frozen=True)
class LetterExtractor:
    name: str
    pick: Callable[[str, Sequence[str]], int | None]
    guess: Callable[[int], int] | None = None  # index chosen for an unparsed reply, from the option count


def _choice(text: str, choices: Sequence[str]) -> int | None:
    from evalkit.scoring.choice import extract_choice

    return extract_choice(text, len(choices), choices)


def _mmlu_pro(text: str, choices: Sequence[str]) -> int | None:
    from evalkit.scoring.mmlu_pro import LETTERS, extract_letter

    letter = extract_letter(text)
    return None if letter is None else LETTERS.index(letter)


def _mmlu_pro_guess(n: int) -> int:
    from evalkit.scoring.mmlu_pro import fallback_guess

    return fallback_guess(n)


def _gpqa(text: str, choices: Sequence[str]) -> int | None:
    from evalkit.scoring.gpqa import extract_letter_index

    return extract_letter_index(text, choices)


EXTRACTORS: dict[str, LetterExtractor] = {
    "choice": LetterExtractor("choice", _choice),  # scoring/choice.py: evalkit's own, for "Answer: B"-style replies
    "mmlu_pro": LetterExtractor("mmlu_pro", _mmlu_pro, _mmlu_pro_guess),  # TIGER-AI-Lab's regexes, then its guess
    "gpqa": LetterExtractor("gpqa", _gpqa),  # lm-evaluation-harness's gpqa cot flexible-extract
}


def letter_extractor(name: str, where: str) -> LetterExtractor:
    found = EXTRACTORS.get(name)
    if found is None:
        raise ConfigError(f"{where}: unknown options.extractor {name!r}; known: {', '.join(EXTRACTORS)}")
    return found
