"""Pull runnable code out of a model's answer to a coding task. Pure functions.

Chat models wrap code in Markdown fences and add chatter; base models continue the prompt and
run on past the function unless cut at a stop sequence. An answer is one of two forms:

  whole   it defines the function (or, when no entry point is known, is a complete program):
          it is run after the prompt, so its definition replaces the prompt's stub;
  body    it continues the prompt (the function's body): it is run appended to the prompt.
"""

from __future__ import annotations

import ast
import re
import textwrap
import warnings
from dataclasses import dataclass

_FENCE = re.compile(r"```[ \t]*([\w+.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_MARKERS = re.compile(r"\[BEGIN\]\s*\n?(.*?)(?:\[DONE\]|\Z)", re.DOTALL)  # MBPP's original answer format
_CODE_START = re.compile(r"^(?:async\s+def|def|class|import|from|@)\b|^[A-Za-z_][\w.]*\s*=", re.MULTILINE)
_PY_TAGS = {"", "python", "py", "python3", "py3", "pycon"}

# the Codex paper's stop sequences for base models continuing a HumanEval prompt
DEFAULT_STOPS = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
_END_MARKERS = ("[DONE]",)


@dataclass(frozen=True)
class CodeAnswer:
    code: str
    form: str  # "whole" | "body"
    source: str  # where it came from: "fence" | "markers" | "text"


def defines(code: str, name: str) -> bool:
    """Whether ``code`` defines ``name`` at top level (``def name(`` at column 0)."""
    return re.search(rf"^(?:async\s+)?def\s+{re.escape(name)}\s*\(", code, re.MULTILINE) is not None


def truncate_at_stops(text: str, stops: tuple[str, ...] | list[str]) -> str:
    """Cut ``text`` at the earliest stop sequence (base models that ran past the function)."""
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=len(text))
    return text[:cut]


def fenced_blocks(text: str) -> list[str]:
    """Python code blocks in Markdown fences (an unterminated last fence counts)."""
    return [body for tag, body in _FENCE.findall(text) if tag.lower() in _PY_TAGS]


def _parsable_prefix(code: str) -> str:
    """The longest run of leading lines that parses as Python: drops prose after the code."""
    lines = code.rstrip().splitlines()
    for end in range(len(lines), 0, -1):
        candidate = "\n".join(lines[:end])
        try:
            with warnings.catch_warnings():  # e.g. "invalid escape sequence": the code's problem, not ours
                warnings.simplefilter("ignore")
                ast.parse(candidate)
        except (SyntaxError, ValueError):
            continue
        return candidate + "\n"
    return code


def _from_prose(text: str) -> str | None:
    """Code written without fences after some chatter: from the first line that starts code."""
    match = _CODE_START.search(text)
    return _parsable_prefix(text[match.start():]) if match else None


def _pick_block(blocks: list[str], entry_point: str | None) -> str:
    if entry_point:
        for block in blocks:
            if defines(block, entry_point):
                return block
    return max(blocks, key=len)


def extract_code(text: str, entry_point: str | None = None, stops: tuple[str, ...] | list[str] = (),
                 continues_prompt: bool = True) -> CodeAnswer:
    """The code in a model answer, and whether it is a whole definition or a body.

    ``entry_point``: the function the task asks for; ``continues_prompt``: whether the prompt is code
    an answer may continue (HumanEval) or not (MBPP: every answer is whole).
    """
    blocks = fenced_blocks(text)
    if blocks:
        code, source = _pick_block(blocks, entry_point), "fence"
    else:
        marked = _MARKERS.search(text)
        code, source = (marked.group(1), "markers") if marked else (text, "text")
    whole = defines(code, entry_point) if entry_point else False
    if source == "text" and not whole and continues_prompt:
        return CodeAnswer(truncate_at_stops(code, stops), "body", source)
    if not continues_prompt or whole:
        code = truncate_at_stops(code, _END_MARKERS)  # not ``stops``: they would cut helper functions
        if source == "text":
            code = _from_prose(code) or code
        return CodeAnswer(code, "whole", source)
    return CodeAnswer(code, "body", source)


def assemble(prefix: str, answer: CodeAnswer) -> str:
    """The solution program: the prompt's code followed by the answer (continued or redefined)."""
    if not prefix:
        return answer.code
    if answer.form == "whole":
        return prefix.rstrip() + "\n\n" + answer.code
    body = answer.code
    first = next((line for line in body.splitlines() if line.strip()), "")
    if first and not first[0].isspace() and not _CODE_START.match(first):
        body = textwrap.indent(body, "    ")  # a chat model gave the body without its indentation
    return prefix + body
