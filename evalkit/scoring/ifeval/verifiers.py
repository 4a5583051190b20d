"""The 25 IFEval instruction verifiers: one pure function per instruction id, response text in, bool out.

Each follows the rule of the official checker (google-research ``instruction_following_eval``, Zhou et al.
2023, "Instruction-Following Evaluation for Large Language Models"), written here from its documented
semantics. Where the official rule is random or reads a parameter as a regular expression, we do the
deterministic, literal thing; docs/benchmarks.md lists each difference.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evalkit.scoring.ifeval.text import count_words, detect_language, split_sentences, word_tokens

RELATIONS = ("less than", "at least")
CONSTRAINED_RESPONSES = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


def _compare(count: int, relation: str, threshold: int) -> bool:
    """``less than`` is strict (<); ``at least`` is >=."""
    return count < threshold if relation == "less than" else count >= threshold


# --- change_case -------------------------------------------------------------------------------------------

def capital_word_frequency(response: str, *, capital_frequency: int, capital_relation: str) -> bool:
    """Words in all capital letters (NLTK word tokens for which ``str.isupper`` holds) appear
    ``capital_relation`` ``capital_frequency`` times."""
    capitals = sum(1 for token in word_tokens(response) if token.isupper())
    return _compare(capitals, capital_relation, capital_frequency)


def english_capital(response: str) -> bool:
    """The whole response is upper case and in English. When langdetect cannot decide, the language part
    counts as followed (as the official checker does)."""
    return response.isupper() and detect_language(response) in ("en", None)


def english_lowercase(response: str) -> bool:
    """The whole response is lower case and in English (undecidable language: followed, as officially)."""
    return response.islower() and detect_language(response) in ("en", None)


# --- combination -------------------------------------------------------------------------------------------

def repeat_prompt(response: str, *, prompt_to_repeat: str) -> bool:
    """The response starts with the request, repeated word for word (case-insensitive, outer whitespace ignored)."""
    return response.strip().lower().startswith(prompt_to_repeat.strip().lower())


def two_responses(response: str) -> bool:
    """Exactly two different responses separated by ``******``. An empty part is allowed only before the
    first or after the last separator."""
    parts = response.split("******")
    answers = []
    for index, part in enumerate(parts):
        if part.strip():
            answers.append(part.strip())
        elif 0 < index < len(parts) - 1:
            return False
    return len(answers) == 2 and answers[0] != answers[1]


# --- detectable_content ------------------------------------------------------------------------------------

def number_placeholders(response: str, *, num_placeholders: int) -> bool:
    """At least ``num_placeholders`` placeholders in square brackets, like ``[address]`` (shortest matches)."""
    return len(re.findall(r"\[.*?\]", response)) >= num_placeholders


def postscript(response: str, *, postscript_marker: str) -> bool:
    """A postscript starting with the marker, anywhere in the response, case-insensitive. ``P.S.`` and
    ``P.P.S`` allow a space after each dot (``p. s.``, ``p. p. s``); another marker is matched literally."""
    text, marker = response.lower(), postscript_marker.strip()
    if marker == "P.P.S":
        pattern = r"\s*p\.\s?p\.\s?s.*$"
    elif marker == "P.S.":
        pattern = r"\s*p\.\s?s\..*$"
    else:
        pattern = r"\s*" + re.escape(marker.lower()) + r".*$"
    return re.search(pattern, text, flags=re.MULTILINE) is not None


# --- detectable_format -------------------------------------------------------------------------------------

def constrained_response(response: str) -> bool:
    """The response contains one of "My answer is yes.", "My answer is no.", "My answer is maybe."."""
    text = response.strip()
    return any(option in text for option in CONSTRAINED_RESPONSES)


def json_format(response: str) -> bool:
    """The whole response parses as JSON, optionally inside a ```` ``` ```` / ```` ```json ```` fence."""
    text = response.strip()
    for fence in ("```json", "```Json", "```JSON", "```"):  # tried in turn, as the official checker does
        if text.startswith(fence):
            text = text[len(fence):]
    if text.endswith("```"):
        text = text[: -len("```")]
    try:
        json.loads(text.strip())
    except ValueError:
        return False
    return True


def multiple_sections(response: str, *, section_spliter: str, num_sections: int) -> bool:
    """At least ``num_sections`` sections, each begun by the splitter word and a number (``SECTION 1``);
    case-sensitive, found anywhere in the text."""
    splitter = re.escape(section_spliter.strip())
    pieces = re.split(r"\s?" + splitter + r"\s?\d+\s?", response)
    return len(pieces) - 1 >= num_sections


def number_bullet_lists(response: str, *, num_bullets: int) -> bool:
    """Exactly ``num_bullets`` markdown bullet lines: lines starting with ``*`` (not ``**``) or with ``-``."""
    stars = re.findall(r"^\s*\*[^\*].*$", response, flags=re.MULTILINE)
    dashes = re.findall(r"^\s*-.*$", response, flags=re.MULTILINE)
    return len(stars) + len(dashes) == num_bullets


def number_highlighted_sections(response: str, *, num_highlights: int) -> bool:
    """At least ``num_highlights`` non-empty ``*highlighted*`` or ``**bold**`` spans, each within one line."""
    single = [m for m in re.findall(r"\*[^\n\*]*\*", response) if m.strip("*").strip()]
    double = [m for m in re.findall(r"\*\*[^\n\*]*\*\*", response) if m[2:-2].strip()]
    return len(single) + len(double) >= num_highlights


def title(response: str) -> bool:
    """A title in double angular brackets on one line, like ``<<poem of joy>>``, with some text inside."""
    return any(m.lstrip("<").rstrip(">").strip() for m in re.findall(r"<<[^\n]+>>", response))


# --- keywords ----------------------------------------------------------------------------------------------

def keywords_existence(response: str, *, keywords: list[str]) -> bool:
    """Every keyword appears, case-insensitive, anywhere (also inside a longer word)."""
    return all(re.search(re.escape(word), response, flags=re.IGNORECASE) for word in keywords)


def forbidden_words(response: str, *, forbidden_words: list[str]) -> bool:
    """None of the words appears as a whole word (``\\b`` boundaries), case-insensitive."""
    return not any(re.search(r"\b" + re.escape(word) + r"\b", response, flags=re.IGNORECASE)
                   for word in forbidden_words)


def keyword_frequency(response: str, *, keyword: str, frequency: int, relation: str) -> bool:
    """The keyword occurs ``relation`` ``frequency`` times: case-insensitive, non-overlapping, also inside
    longer words."""
    count = len(re.findall(re.escape(keyword.strip()), response, flags=re.IGNORECASE))
    return _compare(count, relation, frequency)


def letter_frequency(response: str, *, letter: str, let_frequency: int, let_relation: str) -> bool:
    """The character occurs ``let_relation`` ``let_frequency`` times, case-insensitive. A target that is not
    a letter (IFEval keys 1122 ``#`` and 1129 ``!``) is counted as itself; the 2024 official checker draws a
    random letter instead, so its scores on those two prompts change from run to run."""
    return _compare(response.lower().count(letter.strip().lower()), let_relation, let_frequency)


# --- language ----------------------------------------------------------------------------------------------

def response_language(response: str, *, language: str) -> bool:
    """langdetect (seeded) names ``language``; undecidable text counts as followed, as officially."""
    detected = detect_language(response)
    return detected is None or detected == language


# --- length_constraints ------------------------------------------------------------------------------------

def nth_paragraph_first_word(response: str, *, num_paragraphs: int, nth_paragraph: int, first_word: str) -> bool:
    """Exactly ``num_paragraphs`` non-empty paragraphs separated by blank lines (``\\n\\n``), and paragraph
    ``nth_paragraph`` (1-based, counted over the raw split as the official checker does) starts with
    ``first_word``: compared in lower case, leading quotes dropped, cut at the first ``. , ? ! ' "``."""
    parts = response.split("\n\n")
    count = sum(1 for part in parts if part.strip())
    if nth_paragraph > count or nth_paragraph < 1:
        return False
    paragraph = parts[nth_paragraph - 1].strip()
    if not paragraph:
        return False
    word = paragraph.split()[0].strip().lstrip("'").lstrip('"')
    head = re.match(r"[^.,?!'\"]*", word)
    found = head.group(0).lower() if head else ""
    return count == num_paragraphs and found == first_word.lower()


def number_paragraphs(response: str, *, num_paragraphs: int) -> bool:
    """Exactly ``num_paragraphs`` paragraphs separated by the markdown divider ``***``; an empty paragraph
    is allowed only before the first or after the last divider."""
    parts = re.split(r"\s?\*\*\*\s?", response)
    count = len(parts)
    for index, part in enumerate(parts):
        if not part.strip():
            if index in (0, len(parts) - 1):
                count -= 1
            else:
                return False
    return count == num_paragraphs


def number_sentences(response: str, *, num_sentences: int, relation: str) -> bool:
    """Punkt (English) sentences number ``relation`` ``num_sentences``."""
    return _compare(len(split_sentences(response)), relation, num_sentences)


def number_words(response: str, *, num_words: int, relation: str) -> bool:
    """Words (``\\w+`` runs) number ``relation`` ``num_words``."""
    return _compare(count_words(response), relation, num_words)


# --- punctuation / startend --------------------------------------------------------------------------------

def no_comma(response: str) -> bool:
    """No ``,`` anywhere."""
    return "," not in response


def end_checker(response: str, *, end_phrase: str) -> bool:
    """The response ends with the phrase, case-insensitive, ignoring outer whitespace and double quotes."""
    return response.strip().strip('"').lower().endswith(end_phrase.strip().lower())


def quotation(response: str) -> bool:
    """The whole response (outer whitespace ignored) is wrapped in double quotation marks."""
    text = response.strip()
    return len(text) > 1 and text[0] == '"' and text[-1] == '"'


# --- the registry ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verifier:
    """One instruction type: its check and the parameters a data row must give it (name → kind)."""

    check: Callable[..., bool]
    params: dict[str, str]  # kind: int | str | char | relation | words


VERIFIERS: dict[str, Verifier] = {
    "change_case:capital_word_frequency": Verifier(
        capital_word_frequency, {"capital_frequency": "int", "capital_relation": "relation"}),
    "change_case:english_capital": Verifier(english_capital, {}),
    "change_case:english_lowercase": Verifier(english_lowercase, {}),
    "combination:repeat_prompt": Verifier(repeat_prompt, {"prompt_to_repeat": "str"}),
    "combination:two_responses": Verifier(two_responses, {}),
    "detectable_content:number_placeholders": Verifier(number_placeholders, {"num_placeholders": "int"}),
    "detectable_content:postscript": Verifier(postscript, {"postscript_marker": "str"}),
    "detectable_format:constrained_response": Verifier(constrained_response, {}),
    "detectable_format:json_format": Verifier(json_format, {}),
    "detectable_format:multiple_sections": Verifier(
        multiple_sections, {"section_spliter": "str", "num_sections": "int"}),
    "detectable_format:number_bullet_lists": Verifier(number_bullet_lists, {"num_bullets": "int"}),
    "detectable_format:number_highlighted_sections": Verifier(
        number_highlighted_sections, {"num_highlights": "int"}),
    "detectable_format:title": Verifier(title, {}),
    "keywords:existence": Verifier(keywords_existence, {"keywords": "words"}),
    "keywords:forbidden_words": Verifier(forbidden_words, {"forbidden_words": "words"}),
    "keywords:frequency": Verifier(keyword_frequency, {"keyword": "str", "frequency": "int", "relation": "relation"}),
    "keywords:letter_frequency": Verifier(
        letter_frequency, {"letter": "char", "let_frequency": "int", "let_relation": "relation"}),
    "language:response_language": Verifier(response_language, {"language": "str"}),
    "length_constraints:nth_paragraph_first_word": Verifier(
        nth_paragraph_first_word, {"num_paragraphs": "int", "nth_paragraph": "int", "first_word": "str"}),
    "length_constraints:number_paragraphs": Verifier(number_paragraphs, {"num_paragraphs": "int"}),
    "length_constraints:number_sentences": Verifier(number_sentences, {"num_sentences": "int", "relation": "relation"}),
    "length_constraints:number_words": Verifier(number_words, {"num_words": "int", "relation": "relation"}),
    "punctuation:no_comma": Verifier(no_comma, {}),
    "startend:end_checker": Verifier(end_checker, {"end_phrase": "str"}),
    "startend:quotation": Verifier(quotation, {}),
}


def _valid(kind: str, value: Any) -> bool:
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if kind == "relation":
        return value in RELATIONS
    if kind == "char":
        return isinstance(value, str) and len(value.strip()) == 1
    if kind == "words":
        return isinstance(value, list) and bool(value) and all(isinstance(w, str) and w for w in value)
    return isinstance(value, str) and bool(value.strip())


_EXPECTED = {"int": "a non-negative integer", "relation": "'less than' or 'at least'", "char": "one character",
             "words": "a non-empty list of words", "str": "a non-empty string"}


def checked_kwargs(instruction_id: str, kwargs: Any) -> dict[str, Any]:
    """The parameters of one instruction, validated; ``None`` values (hub rows carry every key) are dropped.

    Raises ValueError naming the instruction, the parameter and what was expected.
    """
    verifier = VERIFIERS.get(instruction_id)
    if verifier is None:
        raise ValueError(f"unknown instruction id {instruction_id!r}")
    if not isinstance(kwargs, dict):
        raise ValueError(f"{instruction_id}: kwargs must be a mapping, got {type(kwargs).__name__}")
    given = {key: value for key, value in kwargs.items() if value is not None}
    unknown = sorted(set(given) - set(verifier.params))
    if unknown:
        raise ValueError(f"{instruction_id}: unexpected parameter {unknown[0]!r}; "
                         f"expected {sorted(verifier.params) or 'none'}")
    for name, kind in verifier.params.items():
        if name not in given:
            raise ValueError(f"{instruction_id}: missing parameter {name!r} ({_EXPECTED[kind]})")
        if not _valid(kind, given[name]):
            raise ValueError(f"{instruction_id}: parameter {name!r} must be {_EXPECTED[kind]}, got {given[name]!r}")
    return given
