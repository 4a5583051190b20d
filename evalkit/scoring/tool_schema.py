"""BFCL function documents → what a model is shown: OpenAI ``tools``, or a prompt for models without them.

BFCL's schemas use their own type names (``dict``, ``float``, ``tuple``, ``any``, Java's ``HashMap``, …) and
dotted function names (``math.factorial``). The OpenAI tools API takes JSON-Schema types and no "." in a
name, so for native tool calling the names are written with "_" and the types mapped to JSON Schema
recursively; Java and JavaScript parameters are declared as strings that hold source code, since that is
how their values are checked. The untouched schema is what the checker scores against.
"""

from __future__ import annotations

import ast
import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

from evalkit.scoring.tool_checker import Call, Language

JSON_SCHEMA_TYPE: dict[str, str] = {
    "integer": "integer", "number": "number", "float": "number", "double": "number", "string": "string",
    "String": "string", "char": "string", "any": "string", "Any": "string", "boolean": "boolean",
    "bool": "boolean", "Boolean": "boolean", "array": "array", "list": "array", "tuple": "array",
    "Array": "array", "ArrayList": "array", "Queue": "array", "Stack": "array", "dict": "object",
    "object": "object", "HashMap": "object", "Hashtable": "object", "byte": "integer", "short": "integer",
    "long": "integer", "Bigint": "integer",
}
SOURCE_TEXT_NOTE = " (Pass the value as {language} source code, in a string.)"


def tool_name(name: str) -> str:
    """A function name as the OpenAI tools API accepts it (letters, digits, "_" and "-")."""
    return name.replace(".", "_")


def _json_schema(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {key: _json_schema(value) for key, value in node.items()}
        if isinstance(node.get("type"), str):
            converted["type"] = JSON_SCHEMA_TYPE.get(node["type"], node["type"])
        return converted
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    return node


def openai_tools(functions: Sequence[Mapping[str, Any]], language: Language) -> list[dict[str, Any]]:
    """The OpenAI ``tools`` list for BFCL function documents."""
    tools = []
    for function in functions:
        parameters = copy.deepcopy(dict(function.get("parameters") or {"type": "dict", "properties": {}}))
        if language != "python":
            note = SOURCE_TEXT_NOTE.format(language="Java" if language == "java" else "JavaScript")
            for details in parameters.get("properties", {}).values():
                details["description"] = str(details.get("description", "")) + note
                details["type"] = "string"
                details.pop("items", None)
        parameters = _json_schema(parameters)
        parameters["type"] = "object"
        tools.append({"type": "function", "function": {"name": tool_name(str(function["name"])),
                                                       "description": str(function.get("description", "")),
                                                       "parameters": parameters}})
    return tools


PROMPT_INSTRUCTIONS = (
    "You are an expert in composing functions. You are given a question and a set of possible functions. "
    "Based on the question, make one or more function calls to achieve the purpose. If none of the functions "
    "can be used, say so and make no call. If the question lacks parameters a function requires, say so.\n"
    "If you decide to call functions, reply with the calls only, in this format: "
    "[func_name1(param1=value1, param2=value2), func_name2(param=value)]\n"
    "Here is the list of functions you can call, in JSON:\n{functions}\n")


def prompt_for_functions(functions: Sequence[Mapping[str, Any]]) -> str:
    """The system prompt of the prompting format: instructions, then the function documents as JSON."""
    return PROMPT_INSTRUCTIONS.format(functions=json.dumps(list(functions), indent=2))


def parse_call_list(text: str) -> list[Call] | None:
    """``[f(a=1), pkg.g(b="x")]`` (the prompting format) → calls; None when the text holds no such list.

    Values must be Python literals (numbers, strings, booleans, None, lists, tuples, dicts); a call with a
    positional argument or a non-literal value is not a valid call list.
    """
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("python").strip()
    if not body.startswith("["):
        body = f"[{body}]"
    try:
        tree = ast.parse(body, mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(tree, ast.List) or not tree.elts:
        return None
    calls: list[Call] = []
    for element in tree.elts:
        if not isinstance(element, ast.Call) or element.args:
            return None
        name = _dotted(element.func)
        if name is None:
            return None
        try:
            arguments = {kw.arg: ast.literal_eval(kw.value) for kw in element.keywords if kw.arg is not None}
        except ValueError:
            return None
        calls.append({name: arguments})
    return calls


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None
