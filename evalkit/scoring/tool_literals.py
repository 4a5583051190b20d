"""Java and JavaScript argument values written as source text, read back as Python values.

BFCL's Java and JavaScript functions take their arguments as strings holding source code (``"true"``,
``"50"``, ``"new int[]{1, 2}"``, ``"{'key': 'value'}"``): a model is told so, and the checker turns the text
into a value of the parameter's declared type before comparing it with the possible answers. Text that is
not a literal of that type stays a string, so it fails the type check instead of being guessed at.
Collections are split at their top-level commas (a comma inside a nested literal or a quoted string does
not split), and their elements are read by the element type when the schema gives one.
"""

from __future__ import annotations

import re
from typing import Any

_INT = re.compile(r"-?\d+")
_JAVA_FLOAT = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?[fF]")
_JAVA_DOUBLE = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_JAVA_LONG = re.compile(r"-?\d+[lL]")
_JS_FLOAT = re.compile(r"-?\d+(\.\d+)?")
_JS_BIGINT = re.compile(r"-?\d+n")
_JAVA_ARRAY = re.compile(r"new\s+[\w.<>]+\s*\[\s*\]\s*\{(?P<body>.*)\}", re.DOTALL)
_JAVA_AS_LIST = re.compile(r"new\s+ArrayList\s*<[^>]*>\s*\(\s*Arrays\s*\.\s*asList\s*\((?P<body>.*)\)\s*\)", re.DOTALL)
_JAVA_ADDS = re.compile(r"new\s+ArrayList\s*<[^>]*>\s*\(\s*\)\s*\{\s*\{(?P<body>.*)\}\s*\}", re.DOTALL)
_JAVA_EMPTY_LIST = re.compile(r"new\s+ArrayList\s*<[^>]*>\s*\(\s*\)")
_JAVA_MAP = re.compile(r"new\s+HashMap\s*<[^>]*>\s*\(\s*\)\s*(\{\s*\{?(?P<body>.*?)\}?\s*\})?", re.DOTALL)
_JAVA_CALL = re.compile(r"(?P<method>add|put)\s*\((?P<args>.*?)\)\s*;", re.DOTALL)
_JS_NEW_ARRAY = re.compile(r"new\s+Array\s*\((?P<body>.*)\)", re.DOTALL)

JAVA_TYPES = {"byte": int, "short": int, "integer": int, "long": int, "float": float, "double": float,
              "boolean": bool, "char": str, "String": str, "any": str, "Array": list, "ArrayList": list,
              "HashMap": dict}
JS_TYPES = {"String": str, "integer": int, "float": float, "Bigint": int, "Boolean": bool, "dict": dict,
            "array": list, "any": str}


def split_top_level(text: str) -> list[str]:
    """Split at commas that are outside brackets, braces, parentheses and quotes; drop empty pieces."""
    parts, depth, quote, start = [], 0, "", 0
    for index, char in enumerate(text):
        if quote:
            if char == quote and text[index - 1] != "\\":
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _unquote(text: str) -> str | None:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return None


# -- Java --------------------------------------------------------------------------------------------------

def java_value(text: str, declared: str, element: str | None = None) -> Any:
    """``text`` read as a Java literal of type ``declared`` (elements of type ``element``)."""
    text = text.strip()
    if declared in ("byte", "short", "integer"):
        return int(text) if _INT.fullmatch(text) else text
    if declared == "long":
        return int(text[:-1]) if _JAVA_LONG.fullmatch(text) else text
    if declared == "float":
        return float(text[:-1]) if _JAVA_FLOAT.fullmatch(text) else text
    if declared == "double":
        return float(text) if _JAVA_DOUBLE.fullmatch(text) else text
    if declared == "boolean":
        return text == "true" if text in ("true", "false") else text
    if declared in ("Array", "ArrayList"):
        return _java_list(text, element)
    if declared == "HashMap":
        return _java_map(text)
    return text  # String, char and any stay text


def _java_element(text: str, element: str | None) -> Any:
    if element in ("String", "char"):
        unquoted = _unquote(text)
        return unquoted if unquoted is not None else text
    return java_value(text, element) if element else java_untyped(text)


def _java_list(text: str, element: str | None) -> Any:
    for pattern in (_JAVA_ARRAY, _JAVA_AS_LIST):
        match = pattern.fullmatch(text)
        if match:
            return [_java_element(part, element) for part in split_top_level(match["body"])]
    match = _JAVA_ADDS.fullmatch(text)
    if match:
        return [_java_element(call["args"].strip(), element) for call in _JAVA_CALL.finditer(match["body"])
                if call["method"] == "add"]
    if _JAVA_EMPTY_LIST.fullmatch(text):
        return []
    return text


def _java_map(text: str) -> Any:
    match = _JAVA_MAP.fullmatch(text)
    if not match:
        return text
    entries: dict[str, Any] = {}
    for call in _JAVA_CALL.finditer(match["body"] or ""):
        args = split_top_level(call["args"])
        if call["method"] != "put" or len(args) != 2 or _unquote(args[0]) is None:
            return text
        entries[str(_unquote(args[0]))] = java_untyped(args[1])
    return entries


def java_untyped(text: str) -> Any:
    """A Java literal whose type the schema does not give: boolean, string, long, float, then number."""
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    unquoted = _unquote(text)
    if unquoted is not None and text[0] == '"':
        return unquoted
    if _JAVA_LONG.fullmatch(text):
        return int(text[:-1])
    if _JAVA_FLOAT.fullmatch(text):
        return float(text[:-1])
    return _number_or_text(text)


# -- JavaScript -------------------------------------------------------------------------------------------

def js_value(text: str, declared: str, element: str | None = None) -> Any:
    """``text`` read as a JavaScript literal of type ``declared`` (elements of type ``element``)."""
    text = text.strip()
    if declared == "String":
        unquoted = _unquote(text)
        return unquoted if unquoted is not None else text
    if declared == "integer":
        return int(text) if _INT.fullmatch(text) else text
    if declared == "float":
        return float(text) if _JS_FLOAT.fullmatch(text) else text
    if declared == "Bigint":
        return int(text[:-1]) if _JS_BIGINT.fullmatch(text) else text
    if declared == "Boolean":
        return text == "true" if text in ("true", "false") else text
    if declared == "array":
        items = _js_items(text)
        if items is None:
            return text
        return [js_value(item, element) if element else js_untyped(item) for item in items]
    if declared == "dict":
        return _js_object(text)
    return text  # any


def _js_items(text: str) -> list[str] | None:
    if text.startswith("[") and text.endswith("]"):
        return split_top_level(text[1:-1])
    match = _JS_NEW_ARRAY.fullmatch(text)
    return split_top_level(match["body"]) if match else None


def _js_object(text: str) -> Any:
    if not (text.startswith("{") and text.endswith("}")):
        return text
    entries: dict[str, Any] = {}
    for pair in split_top_level(text[1:-1]):
        key, colon, value = pair.partition(":")
        if not colon:
            return text
        entries[key.strip().strip("\"'")] = js_untyped(value)
    return entries


def js_untyped(text: str) -> Any:
    """A JavaScript literal whose type the schema does not give: array, object, boolean, string, number."""
    text = text.strip()
    if _js_items(text) is not None:
        return [js_untyped(item) for item in _js_items(text) or []]
    if text.startswith("{") and text.endswith("}"):
        return _js_object(text)
    if text in ("true", "false"):
        return text == "true"
    unquoted = _unquote(text)
    return unquoted if unquoted is not None else _number_or_text(text)


def _number_or_text(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text
