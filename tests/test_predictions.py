"""`--model predictions:FILE`: formats, matching by id and benchmark, and every way a file can be wrong."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from helpers import run_cli

from evalkit.backends.predictions import load_predictions


def _gsm8k_gold(data_dir: Path, n: int) -> list[tuple[str, str]]:
    lines = (data_dir / "gsm8k" / "test.jsonl").read_text().splitlines()[:n]
    return [(f"gsm8k-{i}", json.loads(line)["answer"].split("####")[-1].strip().replace(",", ""))
            for i, line in enumerate(lines)]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _run(data_dir: Path, predictions: Path, out: Path, *args: str):
    return run_cli("run", "--model", f"predictions:{predictions}", "--data-dir", str(data_dir),
                   "--out", str(out), "-q", *args)


def _results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())["benchmarks"]


def test_csv_and_jsonl_give_the_same_scores(tmp_path, data_dir):
    gold = _gsm8k_gold(data_dir, 20)
    rows = [{"id": i, "output": f"#### {g if n % 4 else int(g) + 1}"} for n, (i, g) in enumerate(gold)]
    with open(tmp_path / "p.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "output"])
        writer.writeheader()
        writer.writerows(rows)
    for name in ("p.csv", "p.jsonl"):
        if name.endswith("jsonl"):
            _jsonl(tmp_path / name, rows)
        proc = _run(data_dir, tmp_path / name, tmp_path / name.replace(".", "_"), "--benchmark", "gsm8k", "--limit", "20")
        assert proc.returncode == 0, proc.stderr
        entry = _results(tmp_path / name.replace(".", "_"))["gsm8k"]
        assert entry["metrics"]["exact_match_strict"]["value"] == 15 / 20  # every 4th is off by one
    manifest = json.loads((tmp_path / "p_jsonl" / "manifest.json").read_text())
    assert manifest["execution"]["model_calls"] == 0
    assert not (tmp_path / "p_jsonl" / "journal.sqlite").exists()


def test_missing_ids_stop_the_run_naming_the_first_and_the_count(tmp_path, data_dir):
    gold = _gsm8k_gold(data_dir, 10)
    predictions = _jsonl(tmp_path / "p.jsonl", [{"id": i, "output": f"#### {g}"} for i, g in gold if i not in
                                                ("gsm8k-3", "gsm8k-7")])
    proc = _run(data_dir, predictions, tmp_path / "out", "--benchmark", "gsm8k", "--limit", "10")
    assert proc.returncode == 2
    assert "2 of 10 samples of gsm8k have no prediction; first missing id: 'gsm8k-3'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "results.json").exists()


def test_benchmark_field_tells_colliding_ids_apart(tmp_path, data_dir):
    gold = _gsm8k_gold(data_dir, 5)
    rows = [{"benchmark": "gsm8k", "id": i, "output": f"#### {g}"} for i, g in gold]
    rows += [{"benchmark": "gsm8k_cot", "id": i, "output": "The answer is -1."} for i, _ in gold]
    proc = _run(data_dir, _jsonl(tmp_path / "p.jsonl", rows), tmp_path / "out", "--benchmark", "gsm8k,gsm8k_cot",
                "--limit", "5")
    assert proc.returncode == 0, proc.stderr
    results = _results(tmp_path / "out")
    assert results["gsm8k"]["metrics"]["exact_match_strict"]["value"] == 1.0
    assert results["gsm8k_cot"]["metrics"]["exact_match_strict"]["value"] == 0.0


def test_a_previous_runs_samples_file_rescored_gives_the_same_results(tmp_path, data_dir):
    gold = _gsm8k_gold(data_dir, 12)
    rows = [{"id": i, "output": f"#### {g if n % 3 else 0}"} for n, (i, g) in enumerate(gold)]
    first = _run(data_dir, _jsonl(tmp_path / "p.jsonl", rows), tmp_path / "a", "--benchmark", "gsm8k", "--limit", "12")
    assert first.returncode == 0, first.stderr
    again = _run(data_dir, tmp_path / "a" / "samples.jsonl", tmp_path / "b", "--benchmark", "gsm8k", "--limit", "12")
    assert again.returncode == 0, again.stderr
    assert _results(tmp_path / "a") == _results(tmp_path / "b")


def test_bad_files_are_one_line_errors(tmp_path, data_dir):
    cases = {
        "missing.jsonl": None,
        "broken.jsonl": '{"id": "gsm8k-0", "output": "1"}\n{"id": \n',
        "noid.jsonl": '{"output": "1"}\n',
        "dup.jsonl": '{"id": "gsm8k-0", "output": "1"}\n{"id": "gsm8k-0", "output": "2"}\n',
        "badll.jsonl": '{"id": "gsm8k-0", "choice_logliks": ["x"]}\n',
        "empty.jsonl": "\n",
    }
    expected = {
        "missing.jsonl": "no such file",
        "broken.jsonl": "broken.jsonl:2: invalid JSON",
        "noid.jsonl": 'needs an "id"',
        "dup.jsonl": "duplicate prediction for id 'gsm8k-0'",
        "badll.jsonl": "choice_logliks must hold only numbers",
        "empty.jsonl": "holds no predictions",
    }
    for name, text in cases.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        proc = _run(data_dir, path, tmp_path / f"out-{name}", "--benchmark", "gsm8k", "--limit", "1")
        assert proc.returncode == 2, (name, proc.stderr)
        assert expected[name] in proc.stderr, (name, proc.stderr)
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_mode_and_choice_count_mismatches(tmp_path, data_dir):
    rows = [json.loads(line) for line in (data_dir / "arc_challenge" / "ARC-Challenge-Test.jsonl").read_text().splitlines()[:3]]
    texts = _jsonl(tmp_path / "texts.jsonl", [{"id": r["id"], "output": "A"} for r in rows])
    proc = _run(data_dir, texts, tmp_path / "o1", "--benchmark", "arc_challenge", "--limit", "3", "--mode", "loglikelihood")
    assert proc.returncode == 2 and "has no choice_logliks" in proc.stderr
    short = _jsonl(tmp_path / "short.jsonl", [{"id": r["id"], "choice_logliks": [-1.0, -2.0]} for r in rows])
    proc = _run(data_dir, short, tmp_path / "o2", "--benchmark", "arc_challenge", "--limit", "3")
    assert proc.returncode == 2 and "2 choice_logliks for arc_challenge sample" in proc.stderr
    # a file of texts makes auto mode generate, so letters are scored
    proc = _run(data_dir, texts, tmp_path / "o3", "--benchmark", "arc_challenge", "--limit", "3")
    assert proc.returncode == 0, proc.stderr
    assert _results(tmp_path / "o3")["arc_challenge"]["mode"] == "generate"


def test_loader_accepts_a_json_list_and_skips_errored_rows(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"id": 1, "output": ["a", "b"]}, {"id": "x", "output": None, "error": "HTTP 500"},
                                {"id": "y", "choice_logliks": "[-1, -2.5]"}]))
    table = load_predictions(path)
    assert set(table) == {(None, "1"), (None, "y")}
    assert table[(None, "1")].output == ("a", "b")
    assert table[(None, "y")].choice_logliks == (-1.0, -2.5)


def test_line_separators_inside_strings_do_not_split_records(tmp_path):
    # json.dumps(ensure_ascii=False), as samples.jsonl is written, leaves U+2028 raw inside strings
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"id": "a", "output": "x\u2028y #### 3"}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert load_predictions(path)[(None, "a")].output == ("x\u2028y #### 3",)


@pytest.mark.slow
def test_real_model_logliks_round_trip_through_predictions(tmp_path, data_dir):
    """A real (tiny) transformers model scores MMLU and TruthfulQA; its samples.jsonl, fed back as
    predictions, reproduces every metric exactly (choice_logliks carry everything log-likelihood needs)."""
    from evalkit.testing.tiny_model import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny")
    names = "mmlu,truthfulqa_mc1,truthfulqa_mc2"
    first = run_cli("run", "--model", f"hf:{model}", "--benchmark", names, "--limit", "3", "--data-dir", str(data_dir),
                    "--out", str(tmp_path / "model"), "-q")
    assert first.returncode == 0, first.stderr
    again = _run(data_dir, tmp_path / "model" / "samples.jsonl", tmp_path / "again", "--benchmark", names, "--limit", "3")
    assert again.returncode == 0, again.stderr
    model_results, replayed = _results(tmp_path / "model"), _results(tmp_path / "again")
    for name in names.split(","):
        assert model_results[name]["mode"] == replayed[name]["mode"] == "loglikelihood"
        assert model_results[name]["metrics"] == replayed[name]["metrics"]
    rows = [json.loads(line) for line in (tmp_path / "model" / "samples.jsonl").read_text().split("\n") if line]
    assert all(len(r["choice_logliks"]) == 4 for r in rows if r["benchmark"] == "mmlu")


def test_two_samples_with_one_prompt_keep_their_own_predictions(tmp_path):
    """A predictions file answers by sample, not by prompt: the executor must not merge identical prompts."""
    import asyncio
    import dataclasses

    from evalkit.backends.predictions import PredictionsBackend
    from evalkit.execution.executor import Executor
    from evalkit.execution.store import ResponseStore
    from evalkit.types import GenerateRequest, RequestRef

    path = _jsonl(tmp_path / "p.jsonl", [{"id": "a", "output": "first"}, {"id": "b", "output": "second"}])
    same = GenerateRequest(prompt="What is 2 + 2?")
    requests = [dataclasses.replace(same, ref=RequestRef("bench", sample, 0, 1)) for sample in ("a", "b")]
    backend = PredictionsBackend(path)
    executor = Executor(backend, ResponseStore(tmp_path / "journal.sqlite"))
    outcomes = asyncio.run(executor.run(requests))
    assert [o.result.text for o in outcomes] == ["first", "second"]
    assert executor.stats.model_calls == 0 and executor.stats.requests == 2
