"""The public Python API (``import evalkit``): its exported surface, evaluate/load_run on real GSM8K rows,
and the notebook cases (a running event loop, a readable repr)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_cli

import evalkit

EXPORTED = {
    "BackendError", "BackendOptions", "ConfigError", "DataError", "EvalkitError", "JudgmentRow", "MetricInfo",
    "Results", "RunConfig", "Sample", "Scored", "__version__", "evaluate", "evaluate_async", "load_run",
}


def test_exported_members_are_exactly_the_documented_ones():
    assert set(evalkit.__all__) == EXPORTED and len(evalkit.__all__) == len(EXPORTED)
    for name in evalkit.__all__:
        assert getattr(evalkit, name) is not None, name
    assert set(evalkit.__all__) <= set(dir(evalkit))
    with pytest.raises(AttributeError):
        evalkit.runner_internals  # noqa: B018 - not exported


def test_import_evalkit_loads_no_model_library_and_no_pandas():
    code = ("import sys, evalkit; heavy = [m for m in ('torch', 'transformers', 'pandas', 'datasets', 'openai') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _predictions(data_dir: Path, path: Path, n: int = 20) -> Path:
    """GSM8K answers: the gold answer, except every 4th one off by one (so exact match is 15/20)."""
    lines = (data_dir / "gsm8k" / "test.jsonl").read_text().splitlines()[:n]
    with open(path, "w") as out:
        for i, line in enumerate(lines):
            gold = int(json.loads(line)["answer"].split("####")[-1].strip().replace(",", ""))
            out.write(json.dumps({"id": f"gsm8k-{i}", "output": f"So... #### {gold if i % 4 else gold + 1}"}) + "\n")
    return path


def test_evaluate_prints_a_metrics_dataframe(tmp_path, data_dir):
    preds = _predictions(data_dir, tmp_path / "p.jsonl")
    code = (f"import evalkit; r = evalkit.evaluate('predictions:{preds}', ['gsm8k'], data_dir={str(data_dir)!r}, "
            f"limit=20, out={str(tmp_path / 'run')!r}); print(type(r.metrics).__name__); print(r.metrics)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "DataFrame"
    header = proc.stdout.splitlines()[1].split()
    assert header[:3] == ["benchmark", "metric", "value"] and header[-1] == "higher_is_better"
    assert "gsm8k" in proc.stdout and "[3 rows x 8 columns]" in proc.stdout  # two exact-match metrics, truncated


def test_evaluate_results_hold_the_right_numbers(tmp_path, data_dir):
    preds = _predictions(data_dir, tmp_path / "p.jsonl")
    r = evalkit.evaluate(f"predictions:{preds}", "gsm8k", data_dir=data_dir, limit=20, out=tmp_path / "run")
    row = r.metrics.set_index("metric").loc["exact_match_strict"]
    assert row["benchmark"] == "gsm8k" and row["value"] == 15 / 20 and row["n"] == 20
    assert row["ci95_low"] < 0.75 < row["ci95_high"]
    assert len(r.samples) == 20 and r.samples["scores.exact_match_strict"].sum() == 15
    assert r.run_dir == tmp_path / "run" and r.model == f"predictions:{preds}"
    assert "gsm8k  exact_match_strict = 0.75" in repr(r) and str(tmp_path / "run") in repr(r)
    assert json.loads(json.dumps(r.to_dict()))["results"]["benchmarks"]["gsm8k"]["n"] == 20


def test_load_run_reads_a_run_made_by_the_cli(tmp_path, data_dir):
    preds = _predictions(data_dir, tmp_path / "p.jsonl")
    out = tmp_path / "cli-run"
    proc = run_cli("run", "--model", f"predictions:{preds}", "--benchmark", "gsm8k", "--data-dir", str(data_dir),
                   "--limit", "20", "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    samples = evalkit.load_run(out).samples
    assert list(samples["id"]) == [f"gsm8k-{i}" for i in range(20)]
    assert list(samples["scores.exact_match_strict"]) == [0.0 if i % 4 == 0 else 1.0 for i in range(20)]
    assert samples.columns[:4].tolist() == ["benchmark", "id", "input", "output"]


def test_evaluate_inside_a_running_event_loop_and_the_async_twin(tmp_path, data_dir):
    preds = _predictions(data_dir, tmp_path / "p.jsonl", n=8)

    async def notebook_cell() -> tuple[evalkit.Results, evalkit.Results]:
        blocking = evalkit.evaluate(f"predictions:{preds}", ["gsm8k"], data_dir=data_dir, limit=8, out=tmp_path / "a")
        awaited = await evalkit.evaluate_async(f"predictions:{preds}", ["gsm8k"], data_dir=data_dir, limit=8,
                                               out=tmp_path / "b")
        return blocking, awaited

    blocking, awaited = asyncio.run(notebook_cell())
    assert blocking.metrics.equals(awaited.metrics)
    assert blocking.metrics.set_index("metric").loc["exact_match_strict", "value"] == 6 / 8


def test_unknown_option_is_a_config_error_naming_it():
    with pytest.raises(evalkit.ConfigError, match=r"unknown option 'limt' \(did you mean 'limit'\?\)"):
        evalkit.evaluate("predictions:x.jsonl", ["gsm8k"], limt=5)


def test_load_run_of_a_missing_directory_is_one_line(tmp_path):
    with pytest.raises(evalkit.DataError, match="is not a run directory"):
        evalkit.load_run(tmp_path / "nothing")
