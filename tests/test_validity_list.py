"""`evalkit list` shows every bundled benchmark, and each declared size is the number of items it loads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import pytest
from helpers import run_cli

from evalkit.specs.benchmark import Category
from evalkit.specs.registry import available_specs
from evalkit.tasks import load_task

REPO = Path(__file__).resolve().parents[1]
BUNDLED = sorted(p.stem for p in (REPO / "benchmarks").glob("*.yaml"))


def test_list_shows_every_benchmark_with_its_facts():
    proc = run_cli("list", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert sorted(rows) == BUNDLED
    for row in rows.values():
        assert row["category"] in get_args(Category)  # one list of categories, in the spec schema
        assert isinstance(row["size"], int) and row["size"] > 0, row["name"]
        assert row["kind"] and row["modes"] and (row["hub"] or row["local"])
    assert rows["mmlu"]["modes"] == ["loglikelihood", "generate"] and rows["mmlu"]["fewshot"] == 5
    assert rows["truthfulqa_mc2"]["modes"] == ["loglikelihood"]
    table = run_cli("list", "--category", "knowledge")
    assert table.returncode == 0 and "truthfulqa_mc1" in table.stdout and "gsm8k" not in table.stdout
    bad = run_cli("list", "--category", "maths")
    assert bad.returncode == 2 and "choose one of" in bad.stderr


@pytest.mark.parametrize("name", BUNDLED)
def test_declared_size_is_what_loads(name, data_dir):
    spec_path = available_specs()[name]
    task = load_task(name, data_dir)
    assert len(task.samples) == task.spec.size, f"{spec_path}: size {task.spec.size}, loads {len(task.samples)}"
