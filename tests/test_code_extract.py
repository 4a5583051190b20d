"""Completion handling: fences and chatter from chat models, stop sequences for base models, whole
functions and bodies. Each case is assembled with a real prompt and executed (in-process here: these
are our own fixed strings, not model output)."""

from __future__ import annotations

from evalkit.scoring.code_extract import DEFAULT_STOPS, assemble, extract_code, truncate_at_stops

PROMPT = 'from typing import List\n\n\ndef add_all(xs: List[int]) -> int:\n    """Sum of xs.\n    >>> add_all([1, 2])\n    3\n    """\n'
TEST = "\nassert add_all([1, 2, 3]) == 6\nassert add_all([]) == 0\n"


def runs(answer_text: str, prefix: str = PROMPT, continues: bool = True) -> tuple[bool, str]:
    answer = extract_code(answer_text, "add_all", DEFAULT_STOPS, continues_prompt=continues)
    program = assemble(prefix, answer) + "\n" + TEST
    try:
        exec(compile(program, "<test>", "exec"), {})
    except Exception:  # noqa: BLE001
        return False, answer.form
    return True, answer.form


def test_base_model_continuation_is_cut_at_stop_sequences():
    text = "    return sum(xs)\n\n\ndef unrelated():\n    raise SystemExit\n\nprint(add_all([1]))\nif True:\n    1/0\n"
    assert runs(text) == (True, "body")
    assert truncate_at_stops("a\nb\n#c\nd", DEFAULT_STOPS) == "a\nb"


def test_chat_answer_with_fence_and_chatter():
    text = ("Sure! Here is the implementation:\n\n```python\nfrom typing import List\n\n"
            "def add_all(xs: List[int]) -> int:\n    total = 0\n    for x in xs:\n        total += x\n    return total\n```\n\n"
            "This iterates over the list. Let me know if you need anything else!")
    assert runs(text) == (True, "whole")


def test_picks_the_block_that_defines_the_entry_point():
    text = ("First an example:\n```python\nprint(add_all([1, 2]))\n```\nThe function:\n"
            "```py\ndef add_all(xs):\n    return sum(xs)\n```\n")
    assert runs(text) == (True, "whole")


def test_unterminated_fence_and_untagged_fence():
    assert runs("```python\ndef add_all(xs):\n    return sum(xs)\n") == (True, "whole")
    assert runs("```\ndef add_all(xs):\n    return sum(xs)\n```") == (True, "whole")


def test_body_in_a_fence_and_a_dedented_body():
    assert runs("```python\n    return sum(xs)\n```") == (True, "body")
    assert runs("```python\nreturn sum(xs)\n```") == (True, "body")  # re-indented under the stub


def test_whole_function_without_fence_after_chatter_and_before_prose():
    text = "Here you go:\ndef add_all(xs):\n    return sum(xs)\n\nThe function returns the sum of the list."
    assert runs(text) == (True, "whole")


def test_helper_functions_survive_in_whole_answers():
    text = "```python\ndef add_all(xs):\n    return helper(xs)\n\ndef helper(xs):\n    return sum(xs)\n```"
    assert runs(text) == (True, "whole")


def test_mbpp_answers_are_whole_programs():
    assert runs("[BEGIN]\ndef add_all(xs):\n    return sum(xs)\n[DONE]\nmore text", prefix="", continues=False)[0]
    assert runs("def add_all(xs):\n    return sum(xs)\n[DONE]", prefix="", continues=False)[0]
    assert runs("```python\nimport math\ndef add_all(xs):\n    return math.fsum(xs)\n```", prefix="", continues=False)[0]


def test_wrong_answers_still_fail():
    assert runs("    return 0\n") == (False, "body")
    assert runs("```python\ndef add_all(xs):\n    return len(xs)\n```") == (False, "whole")
    assert runs("I cannot help with that.") == (False, "body")
