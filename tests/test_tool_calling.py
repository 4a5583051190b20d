"""Tool calling (BFCL single turn): the AST checker's rules, gold calls through predictions, real HTTP."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from evalkit.data.bfcl import load_possible_answers
from evalkit.scoring.tool_checker import check, standardize
from evalkit.scoring.tool_literals import java_value, js_value, split_top_level
from evalkit.scoring.tool_schema import openai_tools, parse_call_list, tool_name
from tests.helpers import run_cli

CATEGORIES_WITH_ANSWERS = ("simple_python", "simple_java", "simple_javascript", "multiple", "parallel",
                           "parallel_multiple", "live_simple", "live_multiple", "live_parallel",
                           "live_parallel_multiple")
NO_ANSWER = ("irrelevance", "live_irrelevance", "live_relevance")


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# -- gold calls, built from the possible answers and the schema (first allowed value of each parameter) ---

def _java_literal(value: Any, declared: str | None = None, element: str | None = None) -> str:
    """A Python value written as the Java source text BFCL's Java functions take (top-level strings of a
    String/any parameter as they are; strings inside collections quoted)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        puts = " ".join(f'put("{k}", {_java_literal(v)});' for k, v in value.items())
        return f"new HashMap<String, Object>() {{{{ {puts} }}}}"
    if isinstance(value, list):
        items = ", ".join(_java_literal(v, element) if not isinstance(v, str) else json.dumps(v) for v in value)
        return f"new ArrayList<>(Arrays.asList({items}))" if declared == "ArrayList" else f"new Object[]{{{items}}}"
    if isinstance(value, str):
        return value if declared is not None else json.dumps(value)
    if declared == "long":
        return f"{value}L"
    if declared == "float":
        return f"{float(value)}f"
    return str(value)


def _js_literal(value: Any, declared: str | None = None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_js_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_js_literal(v) for v in value) + "]"
    if isinstance(value, str):
        return value if declared is not None else json.dumps(value)
    if declared == "Bigint":
        return f"{value}n"
    return str(value)


def _first_allowed(value: Any) -> Any:
    """A dict parameter's own possible answers: the first allowed value of each key (omitting "")."""
    if isinstance(value, dict):
        return {k: v[0] for k, v in value.items() if v and v[0] != ""}
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [_first_allowed(item) for item in value]
    return value


def _gold_arguments(function: dict[str, Any], allowed: dict[str, list[Any]], language: str) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    properties = function["parameters"]["properties"]
    required = function["parameters"].get("required", [])
    for param, values in allowed.items():
        given = [v for v in values if v != ""] or (values if param in required else [])
        if not given or param not in properties:  # only "" (omit it), no value at all, or not in the schema
            continue
        value = _first_allowed(given[0])  # the first allowed value that is not "" (omitting), if any
        details = properties[param]
        element = (details.get("items") or {}).get("type")
        if language == "java":
            value = _java_literal(value, details["type"], element)
        elif language == "javascript":
            value = _js_literal(value, details["type"])
        arguments[param] = value
    return arguments


def _gold_calls(item: dict[str, Any], truth: list[dict[str, Any]], language: str) -> list[dict[str, Any]]:
    functions = {f["name"]: f for f in item["function"]}
    calls = []
    for expected in truth:
        (name, allowed), = expected.items()
        calls.append({"name": tool_name(name), "arguments": json.dumps(_gold_arguments(functions[name], allowed,
                                                                                      language))})
    return calls


def _language(category: str) -> str:
    return "java" if category == "simple_java" else "javascript" if category == "simple_javascript" else "python"


# Items no call can pass under BFCL's checker (checked by hand against the data; docs/tool-calling.md):
# a parameter whose allowed list is empty (it may be neither given nor omitted), a listed, non-optional
# parameter that the function's schema does not have, and an ArrayList of `any` mixing strings and numbers
# (a Java `any` element stays text, so 42 can never equal "42").
UNANSWERABLE = {"live_simple_106-63-0": "empty allowed list", "live_simple_112-68-0": "empty allowed list",
                "live_multiple_862-181-3": "journey_start_time is not in Trains_1_FindTrains' schema",
                "live_multiple_964-207-0": "the answer names `question`, the schema only `statement`",
                "simple_java_36": "ArrayList<any> with numbers", "simple_java_65": "ArrayList<any> with booleans"}


def _write_predictions(data_dir: Path, path: Path, mutate=None) -> dict[str, dict[str, Any]]:
    rows = {}
    folder = data_dir / "bfcl"
    for category in CATEGORIES_WITH_ANSWERS:
        items = _jsonl(folder / f"BFCL_v4_{category}.json")
        truths = load_possible_answers(folder / "possible_answer" / f"BFCL_v4_{category}.json")
        for position, item in enumerate(items):
            calls = _gold_calls(item, truths[item["id"]], _language(category))
            if mutate is not None:
                calls = mutate(position, item, truths[item["id"]], calls)
            rows[item["id"]] = {"id": item["id"], "output": "", "tool_calls": calls}
    for category in NO_ANSWER:
        for item in _jsonl(folder / f"BFCL_v4_{category}.json"):
            made = [{"name": tool_name(item["function"][0]["name"]), "arguments": "{}"}] if category == "live_relevance" else []
            rows[item["id"]] = {"id": item["id"], "output": "I cannot help with that." if not made else "",
                                "tool_calls": made}
    path.write_text("".join(json.dumps(r) + "\n" for r in rows.values()), encoding="utf-8")
    return rows


def _results(out: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    results = json.loads((out / "results.json").read_text())["benchmarks"]["bfcl"]
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    return results, rows


@pytest.fixture(scope="module")
def gold_run(tmp_path_factory, data_dir):
    if not (data_dir / "bfcl").is_dir():
        pytest.skip("BFCL data not in the data dir")
    work = tmp_path_factory.mktemp("bfcl_gold")
    rows = _write_predictions(data_dir, work / "gold.jsonl")
    proc = run_cli("run", "--model", f"predictions:{work / 'gold.jsonl'}", "--benchmark", "bfcl",
                   "--data-dir", str(data_dir), "--out", str(work / "run"), "-q")
    assert proc.returncode == 0, proc.stderr
    return work, rows


def test_gold_calls_score_100_percent_on_every_category(gold_run, data_dir):
    work, rows = gold_run
    results, samples = _results(work / "run")
    assert results["n"] == len(rows) == 3641 and results["n_errors"] == 0
    summary = results["bfcl_summary"]
    impossible = set(UNANSWERABLE)
    wrong = [(s["id"], s["check"]) for s in samples if s["scores"]["accuracy"] != 1.0 and s["id"] not in impossible]
    assert not wrong, wrong[:5]
    assert all(by["scores"]["accuracy"] == 0.0 for by in samples if by["id"] in impossible)
    assert set(summary["categories"]) == set(CATEGORIES_WITH_ANSWERS + NO_ANSWER)
    lost = {c: sum(i.startswith(c + "_") for i in impossible) for c in summary["categories"]}
    for name, value in summary["categories"].items():
        assert value == (summary["n"][name] - lost[name]) / summary["n"][name], name
    assert summary["missing_categories"] == []
    # BFCL's averages, recomputed from the per-category figures by its published weighting
    simple = sum(summary["categories"][c] for c in ("simple_python", "simple_java", "simple_javascript")) / 3
    non_live = (simple + sum(summary["categories"][c] for c in ("multiple", "parallel", "parallel_multiple"))) / 4
    assert summary["non_live_ast"] == pytest.approx(non_live)
    live = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")
    live_n = sum(summary["n"][c] for c in live)
    assert summary["live_ast"] == pytest.approx((live_n - sum(lost[c] for c in live)) / live_n)
    assert {name: g["n"] for name, g in results["groups"].items()} == summary["n"]


def test_samples_jsonl_replays_as_predictions(gold_run, data_dir):
    work, _ = gold_run
    again = run_cli("run", "--model", f"predictions:{work / 'run' / 'samples.jsonl'}", "--benchmark", "bfcl",
                    "--data-dir", str(data_dir), "--out", str(work / "replay"), "-q")
    assert again.returncode == 0, again.stderr
    assert _results(work / "replay")[0]["metrics"] == _results(work / "run")[0]["metrics"]


def _change_first_value(index, item, truth, calls):
    """Item 0 of each category: one value changed; item 1: a required parameter dropped; item 2: the wrong
    function (or, with a single function, a misspelled name)."""
    calls = copy.deepcopy(calls)
    arguments = json.loads(calls[0]["arguments"])
    functions = {f["name"]: f for f in item["function"]}
    (name, _), = truth[0].items()
    if index == 0 and arguments:
        key = next(iter(arguments))
        value = arguments[key]
        arguments[key] = (not value if isinstance(value, bool) else value + 7 if isinstance(value, (int, float))
                          else [*value, "extra"] if isinstance(value, list) else {"zz": 1} if isinstance(value, dict)
                          else str(value) + " definitely different")
    elif index == 1 and functions[name]["parameters"].get("required"):
        arguments.pop(functions[name]["parameters"]["required"][0], None)
    elif index == 2:
        others = [n for n in functions if n != name]
        calls[0]["name"] = tool_name(others[0]) if others else calls[0]["name"] + "_nope"
    calls[0]["arguments"] = json.dumps(arguments)
    return calls


def test_a_changed_value_a_dropped_parameter_or_the_wrong_function_scores_zero(tmp_path, data_dir):
    if not (data_dir / "bfcl").is_dir():
        pytest.skip("BFCL data not in the data dir")
    _write_predictions(data_dir, tmp_path / "bad.jsonl", _change_first_value)
    proc = run_cli("run", "--model", f"predictions:{tmp_path / 'bad.jsonl'}", "--benchmark", "bfcl",
                   "--data-dir", str(data_dir), "--out", str(tmp_path / "run"), "-q")
    assert proc.returncode == 0, proc.stderr
    _, samples = _results(tmp_path / "run")
    by_category: dict[str, list[dict[str, Any]]] = {}
    for sample in samples:
        by_category.setdefault(sample["category"], []).append(sample)
    for category in CATEGORIES_WITH_ANSWERS:
        first = by_category[category][:4]
        assert [s["scores"]["accuracy"] for s in first] == [0.0, 0.0, 0.0, 1.0], (category, [s["check"] for s in first])


# -- the checker's rules, each from BFCL's documented semantics ------------------------------------------

AREA = [{"name": "geometry.area", "parameters": {"type": "dict", "properties": {
    "base": {"type": "integer"}, "height": {"type": "float"}, "unit": {"type": "string"},
    "tags": {"type": "array", "items": {"type": "string"}}}, "required": ["base", "height"]}}]
AREA_TRUTH = [{"geometry.area": {"base": [10], "height": [5.0], "unit": ["square meters", ""], "tags": [["a", "b"], ""]}}]


@pytest.mark.parametrize("arguments, valid, error", [
    ({"base": 10, "height": 5.0}, True, None),
    ({"base": 10, "height": 5}, True, None),  # an int is accepted where a float is declared
    ({"base": 10.0, "height": 5.0}, False, "type_error:simple"),  # not the other way round
    ({"base": 10, "height": 5.0, "unit": "Square-Meters"}, True, None),  # case, spaces, "-" ignored
    ({"base": 10, "height": 5.0, "unit": "sq m"}, False, "value_error:string"),
    ({"base": 10, "height": 5.0, "tags": ["A", "b"]}, True, None),
    ({"base": 10, "height": 5.0, "tags": ["b", "a"]}, False, "value_error:list"),  # lists keep their order
    ({"base": 10}, False, "missing_required"),
    ({"base": 10, "height": 5.0, "colour": "red"}, False, "unexpected_param"),
    ({"base": 11, "height": 5.0}, False, "value_error"),
])
def test_simple_call_rules(arguments, valid, error):
    verdict = check("simple_python", AREA, [{"geometry.area": arguments}], AREA_TRUTH)
    assert (verdict.valid, verdict.error_type) == (valid, error)


def test_names_dots_and_counts():
    right = {"base": 10, "height": 5.0}
    assert check("simple_python", AREA, [{"geometry_area": right}], AREA_TRUTH, underscore_names=True).valid
    assert not check("simple_python", AREA, [{"geometry_area": right}], AREA_TRUTH).valid
    assert check("simple_python", AREA, [], AREA_TRUTH).error_type == "wrong_count"
    assert check("simple_python", AREA, [{"geometry.area": right}] * 2, AREA_TRUTH).error_type == "wrong_count"


def test_a_parameter_listed_without_an_empty_answer_must_be_given():
    truth = [{"geometry.area": {"base": [10], "height": [5.0], "unit": ["square meters"]}}]
    assert check("simple_python", AREA, [{"geometry.area": {"base": 10, "height": 5.0}}], truth).error_type == \
        "missing_optional"


def test_parallel_calls_match_in_any_order_each_used_once():
    fn = [{"name": "weather", "parameters": {"type": "dict", "properties": {"city": {"type": "string"}},
                                             "required": ["city"]}}]
    truth = [{"weather": {"city": ["Paris"]}}, {"weather": {"city": ["Rome"]}}]
    calls = [{"weather": {"city": "rome"}}, {"weather": {"city": "Paris"}}]
    assert check("parallel", fn, calls, truth).valid
    assert not check("parallel", fn, [{"weather": {"city": "Paris"}}] * 2, truth).valid
    assert check("parallel", fn, calls[:1], truth).error_type == "wrong_count"


def test_multiple_functions_the_right_one_must_be_chosen():
    fns = [AREA[0], {"name": "volume", "parameters": {"type": "dict", "properties": {"side": {"type": "integer"}},
                                                      "required": ["side"]}}]
    truth = [{"volume": {"side": [3]}}]
    assert check("multiple", fns, [{"volume": {"side": 3}}], truth).valid
    assert check("multiple", fns, [{"geometry.area": {"base": 3, "height": 1.0}}], truth).error_type == "wrong_func_name"


def test_dict_parameters_and_lists_of_dicts():
    fn = [{"name": "book", "parameters": {"type": "dict", "properties": {
        "guest": {"type": "dict"}, "rooms": {"type": "array", "items": {"type": "dict"}}}, "required": ["guest"]}}]
    truth = [{"book": {"guest": [{"name": ["Ann"], "age": [30, ""]}], "rooms": [[{"beds": [2]}], ""]}}]
    assert check("simple_python", fn, [{"book": {"guest": {"name": "ann"}}}], truth).valid
    assert check("simple_python", fn, [{"book": {"guest": {"name": "Ann", "age": 30}, "rooms": [{"beds": 2}]}}], truth).valid
    assert not check("simple_python", fn, [{"book": {"guest": {"name": "Ann", "pet": "cat"}}}], truth).valid
    assert not check("simple_python", fn, [{"book": {"guest": {"name": "Ann"}, "rooms": [{"beds": 3}]}}], truth).valid


def test_a_variable_name_where_the_schema_declares_another_type():
    fn = [{"name": "plot", "parameters": {"type": "dict", "properties": {"data": {"type": "array",
                                                                                  "items": {"type": "integer"}}},
                                          "required": ["data"]}}]
    truth = [{"plot": {"data": ["my_values"]}}]  # the possible answer names a variable
    assert check("simple_python", fn, [{"plot": {"data": "my_values"}}], truth).valid
    assert not check("simple_python", fn, [{"plot": {"data": "other"}}], truth).valid


def test_standardize_and_literals():
    assert standardize("April 1, 2024") == standardize("april 1 2024") == "april12024"
    assert standardize("it's") == 'it"s'
    assert java_value("true", "boolean") is True and java_value("50", "integer") == 50
    assert java_value("123L", "long") == 123 and java_value("3.5f", "float") == 3.5
    assert java_value("3.5", "float") == "3.5"  # no f suffix: not a Java float literal, stays text
    assert java_value('new String[]{"a", "b, c"}', "Array", "String") == ["a", "b, c"]
    assert java_value('new ArrayList<>(Arrays.asList(1, 2))', "ArrayList", "integer") == [1, 2]
    assert java_value('new HashMap<String, Object>() {{ put("k", 1); put("s", "v"); }}', "HashMap") == {"k": 1, "s": "v"}
    assert js_value("'abc'", "String") == "abc" and js_value("[1, 'two', true]", "array") == [1, "two", True]
    assert js_value("{a: 1, b: [1, 2]}", "dict") == {"a": 1, "b": [1, 2]}
    assert js_value("12n", "Bigint") == 12 and js_value("12", "Bigint") == "12"
    assert split_top_level('a, [b, c], "d, e"') == ["a", "[b, c]", '"d, e"']


def test_java_values_must_arrive_as_text():
    fn = [{"name": "Util.run", "parameters": {"type": "dict", "properties": {"flag": {"type": "boolean"}},
                                              "required": ["flag"]}}]
    truth = [{"Util.run": {"flag": [True]}}]
    assert check("simple_java", fn, [{"Util.run": {"flag": "true"}}], truth).valid
    assert check("simple_java", fn, [{"Util.run": {"flag": True}}], truth).error_type == "type_error:java"


def test_openai_tools_conversion():
    (tool,) = openai_tools(AREA, "python")
    assert tool["function"]["name"] == "geometry_area" and tool["function"]["parameters"]["type"] == "object"
    assert tool["function"]["parameters"]["properties"]["height"]["type"] == "number"
    (java,) = openai_tools([{"name": "A.b", "parameters": {"type": "dict", "properties": {
        "m": {"type": "HashMap", "description": "a map"}}}}], "java")
    assert java["function"]["parameters"]["properties"]["m"]["type"] == "string"
    assert "Java source code" in java["function"]["parameters"]["properties"]["m"]["description"]
    assert AREA[0]["parameters"]["type"] == "dict"  # the original schema is untouched


def test_prompting_format_is_parsed_as_python_calls():
    assert parse_call_list('[geometry.area(base=10, height=5.0), f(x="a")]') == [
        {"geometry.area": {"base": 10, "height": 5.0}}, {"f": {"x": "a"}}]
    assert parse_call_list("I cannot answer that.") is None
    assert parse_call_list("[f(1)]") is None  # positional arguments are not BFCL's format
    assert parse_call_list("[f(x=open('/etc/passwd'))]") is None  # only literals


# -- the whole path over real HTTP: tools sent, scripted tool_calls read back, journaled ------------------

def _spec_copy(tmp_path: Path, files: str, name: str) -> Path:
    text = (Path(__file__).resolve().parents[1] / "benchmarks" / "bfcl.yaml").read_text()
    text = text.replace('files: "bfcl/BFCL_v4_*.json"', f'files: "{files}"').replace("name: bfcl\n", f"name: {name}\n")
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def test_native_tool_calls_over_http_scored_and_resumed(tmp_path, data_dir, fake_server):
    if not (data_dir / "bfcl").is_dir():
        pytest.skip("BFCL data not in the data dir")
    simple = _jsonl(data_dir / "bfcl" / "BFCL_v4_simple_python.json")[:6]
    parallel = _jsonl(data_dir / "bfcl" / "BFCL_v4_parallel.json")[:2]
    irrelevant = _jsonl(data_dir / "bfcl" / "BFCL_v4_irrelevance.json")[:2]
    truth = load_possible_answers(data_dir / "bfcl" / "possible_answer" / "BFCL_v4_simple_python.json")
    ptruth = load_possible_answers(data_dir / "bfcl" / "possible_answer" / "BFCL_v4_parallel.json")
    right = [_gold_calls(item, truth[item["id"]], "python") for item in simple]
    args0 = json.loads(right[2][0]["arguments"])
    key = next(iter(args0))
    scripts = [
        right[0],                                                                  # right
        [{"name": "not_the_function", "arguments": right[1][0]["arguments"]}],     # wrong name
        [{"name": right[2][0]["name"], "arguments": json.dumps({**args0, key: 123456789})}],  # wrong value
        [{"name": right[3][0]["name"], "arguments": json.dumps({**json.loads(right[3][0]["arguments"]),
                                                                "surprise": 1})}],  # extra parameter
        None,                                                                      # no call, just text
        [{"name": right[5][0]["name"], "arguments": "{not json"}],                 # undecodable arguments
    ]
    entries = []
    for item, script in zip(simple, scripts):
        entry = {"match": item["question"][0][-1]["content"], "output": "I would rather chat."}
        if script is not None:
            entry["tool_calls"] = script
        entries.append(entry)
    for item in parallel:  # the calls in reverse order: still right
        calls = _gold_calls(item, ptruth[item["id"]], "python")
        entries.append({"match": item["question"][0][-1]["content"], "tool_calls": calls[::-1] if item is parallel[0]
                        else calls[:1]})
    entries.append({"match": irrelevant[0]["question"][0][-1]["content"], "output": "None of these functions fit."})
    entries.append({"match": irrelevant[1]["question"][0][-1]["content"],
                    "tool_calls": [{"name": tool_name(irrelevant[1]["function"][0]["name"]), "arguments": "{}"}]})
    answers = tmp_path / "answers.jsonl"
    answers.write_text("".join(json.dumps(e) + "\n" for e in sorted(entries, key=lambda e: -len(e["match"]))))
    server = fake_server("--answers", str(answers))

    def run(spec: Path, limit: int, out: Path) -> list[dict[str, Any]]:
        proc = run_cli("run", "--model", "openai:fake", "--base-url", server.base_url, "--benchmark", str(spec),
                       "--data-dir", str(data_dir), "--limit", str(limit), "--out", str(out), "--no-cache", "-q")
        assert proc.returncode == 0, proc.stderr
        return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]

    rows = run(_spec_copy(tmp_path, "bfcl/BFCL_v4_simple_python.json", "bfcl_sp"), 6, tmp_path / "simple")
    assert [r["scores"]["accuracy"] for r in rows] == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0], [r["check"] for r in rows]
    assert "not found" in rows[1]["check"] or "expected a call" in rows[1]["check"]
    assert rows[3]["check"] == "unexpected parameter 'surprise'"
    assert rows[0]["tool_calls"] == right[0]  # the calls as the API returned them, in samples.jsonl
    body = server.bodies()[0]
    assert body["tool_choice"] == "auto" and body["tools"][0]["type"] == "function"
    assert "." not in body["tools"][0]["function"]["name"] and body["tools"][0]["function"]["parameters"]["type"] == "object"

    calls_before = server.stats()["completed"]
    again = run(_spec_copy(tmp_path, "bfcl/BFCL_v4_simple_python.json", "bfcl_sp"), 6, tmp_path / "simple")
    assert server.stats()["completed"] == calls_before  # resumed from the journal: the tool calls were kept
    assert [r["scores"] for r in again] == [r["scores"] for r in rows]

    rows = run(_spec_copy(tmp_path, "bfcl/BFCL_v4_parallel.json", "bfcl_par"), 2, tmp_path / "parallel")
    assert [r["scores"]["accuracy"] for r in rows] == [1.0, 0.0]
    rows = run(_spec_copy(tmp_path, "bfcl/BFCL_v4_irrelevance.json", "bfcl_irr"), 2, tmp_path / "irrelevance")
    assert [r["scores"]["accuracy"] for r in rows] == [1.0, 0.0]


def test_prompting_format_through_predictions(tmp_path, data_dir):
    """bfcl_prompting: the calls are read from the reply's text, ``[func(param=value)]``."""
    if not (data_dir / "bfcl").is_dir():
        pytest.skip("BFCL data not in the data dir")
    items = _jsonl(data_dir / "bfcl" / "BFCL_v4_simple_python.json")[:3]
    truth = load_possible_answers(data_dir / "bfcl" / "possible_answer" / "BFCL_v4_simple_python.json")
    rows = []
    for number, item in enumerate(items):
        (name, _), = truth[item["id"]][0].items()
        arguments = json.loads(_gold_calls(item, truth[item["id"]], "python")[0]["arguments"])
        text = "[" + name + "(" + ", ".join(f"{k}={v!r}" for k, v in arguments.items()) + ")]"
        rows.append({"id": item["id"], "output": text if number < 2 else "I can't call anything here."})
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = (Path(__file__).resolve().parents[1] / "benchmarks" / "bfcl_prompting.yaml").read_text()
    (tmp_path / "bp.yaml").write_text(spec.replace('files: "bfcl/BFCL_v4_*.json"',
                                                   'files: "bfcl/BFCL_v4_simple_python.json"'))
    proc = run_cli("run", "--model", f"predictions:{tmp_path / 'p.jsonl'}", "--benchmark", str(tmp_path / "bp.yaml"),
                   "--data-dir", str(data_dir), "--limit", "3", "--out", str(tmp_path / "run"), "-q")
    assert proc.returncode == 0, proc.stderr
    samples = [json.loads(line) for line in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert [s["scores"]["accuracy"] for s in samples] == [1.0, 1.0, 0.0]
    assert samples[0]["input"].startswith("[system]") and "[func_name1(" in samples[0]["input"]
