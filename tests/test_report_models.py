"""The report for debugging: one row per model, headline metrics, MOVER averages, what each sample was scored on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evalkit.report.collect import _average, cell, columns, leaderboard, load_views, run_label
from evalkit.report.html import build_report
from evalkit.report.samples import decode, encode, pack
from evalkit.stats.uncertainty import wilson_interval
from evalkit.testing.synth_runs import BenchmarkInfo, write_run

MC = BenchmarkInfo(category="knowledge", kind="multiple_choice", metrics={"acc": True})
GEN = BenchmarkInfo(category="reasoning", kind="generate", metrics={"exact_match_strict": True})
JUDGED = BenchmarkInfo(category="general", kind="judged", metrics={"pass_rate": True})
SAFETY = BenchmarkInfo(category="safety", kind="refusal",
                       metrics={"over_refusal": False, "unsafe_compliance": False, "unsafe_full_refusal": True})
CHOICES = ["Paris", "Rome", "Berlin", "Madrid"]


def _runs(root: Path, model: str, good: bool, judge_valid: bool = True) -> list[Path]:
    """Three runs of one model, one benchmark each (as a user runs them on different days)."""
    mc = [{"benchmark": "geo", "id": f"g{i}", "input": f"Capital {i}?", "output": "C. Berlin" if good or i else "A. Paris",
           "target": 2, "choices": CHOICES, "scores": {"acc": float(good or i > 0)}, "extracted": "C"} for i in range(4)]
    gen = [{"benchmark": "math", "id": f"m{i}", "input": f"{i}+{i}?", "output": f"The answer is #### {2 * i}",
            "target": str(2 * i), "scores": {"exact_match_strict": 1.0}, "extracted": {"strict": str(2 * i)}}
           for i in range(3)]
    judged = [{"benchmark": "chat", "id": f"c{i}", "input": f"Tell me {i}", "output": f"Reply {i}", "target": None,
               "scores": {"pass_rate": 1.0 if judge_valid else None}} for i in range(2)]
    judgments = [{"benchmark": "chat", "id": f"c{i}", "judge": "openai:judge", "kind": "pointwise", "model_a": model,
                  "model_b": None, "order": None, "turn": 1, "verdict": "PASS" if judge_valid else None,
                  "winner": None, "valid": judge_valid, "problem": None if judge_valid else "no VERDICT line",
                  "rationale": f"The reply {i} answers the question directly."} for i in range(2)]
    return [write_run(root / f"{model}-geo", model, mc, {"geo": MC}),
            write_run(root / f"{model}-math", model, gen, {"math": GEN}),
            write_run(root / f"{model}-chat", model, judged, {"chat": JUDGED}, judgments=judgments)]


def test_runs_of_one_model_merge_into_one_row(tmp_path):
    runs = _runs(tmp_path, "openai:alpha", True) + _runs(tmp_path, "openai:beta", False, judge_valid=False)
    views = load_views(runs, note=lambda _: None)
    assert [v.label for v in views] == ["openai:alpha", "openai:beta"]
    board = leaderboard(views, columns(views))
    assert len(board["rows"]) == 2 and [c.name for c in board["columns"]] == ["chat", "geo", "math"]
    for row in board["rows"]:
        texts = {col.name: c["text"] for c, col in zip(row["cells"], board["columns"])}
        assert "—" not in (texts["geo"], texts["math"])  # both runs of each model are in its row
        assert len(row["path"].split("\n")) == 3  # the tooltip names every run directory
    # the judge answered nothing usable for beta: its chat cell is empty, and the row says why
    assert board["rows"][1]["cells"][0]["text"] == "—"
    assert board["rows"][1]["notes"] == ["all 2 judgments invalid: the judge's scores are missing, not zero"]
    assert board["rows"][0]["notes"] == []


def test_labels_never_show_a_predictions_path():
    assert run_label({"model": {"name": "predictions:/very/long/path/answers.jsonl"}}, "x") == "predictions:answers.jsonl"
    assert run_label({"config": {"label": "my-model v2"}, "model": {"name": "openai:gpt"}}, "x") == "my-model v2"
    assert run_label({"model": {"name": "hf:org/model"}}, "x") == "hf:org/model"


def test_refusal_benchmarks_headline_over_refusal_and_unsafe_compliance(tmp_path):
    rows = [{"benchmark": "xstest", "id": f"x{i}", "input": "q", "output": "o", "target": "safe" if i < 4 else "unsafe",
             "scores": {"over_refusal": float(i == 0) if i < 4 else None,
                        "unsafe_compliance": float(i == 5) if i >= 4 else None,
                        "unsafe_full_refusal": float(i != 5) if i >= 4 else None}} for i in range(8)]
    views = load_views([write_run(tmp_path / "x", "openai:m", rows, {"xstest": SAFETY})], note=lambda _: None)
    cols = columns(views)
    assert [(c.name, c.metric, c.higher_is_better) for c in cols] == [
        ("xstest · over_refusal", "over_refusal", False), ("xstest · unsafe_compliance", "unsafe_compliance", False)]
    cells = leaderboard(views, cols)["rows"][0]["cells"]
    assert [c["value"] for c in cells] == [0.25, 0.25]


def test_category_average_interval_combines_the_benchmarks_own_intervals():
    # two benchmarks at 0 of 20: each Wilson interval is [0, 0.161]; the average's is not [0, 0]
    lo, hi = wilson_interval(0, 20)
    average = _average([cell(0.0, lo, hi, True), cell(0.0, lo, hi, True)], [0.0, 0.0])
    assert average["lo"] == 0.0 and average["hi"] == pytest.approx(hi * 2 ** 0.5 / 2)
    # MOVER: asymmetric intervals stay asymmetric, within [0, 1]
    a, b = wilson_interval(19, 20), wilson_interval(10, 20)
    mixed = _average([cell(0.95, *a, True), cell(0.5, *b, True)], [0.0, 0.0])
    assert mixed["lo"] == pytest.approx(0.725 - ((0.95 - a[0]) ** 2 + (0.5 - b[0]) ** 2) ** 0.5 / 2)
    assert mixed["hi"] == pytest.approx(0.725 + ((a[1] - 0.95) ** 2 + (b[1] - 0.5) ** 2) ** 0.5 / 2)


def test_samples_show_target_text_extracted_answer_turns_and_judgments(tmp_path):
    runs = _runs(tmp_path, "openai:alpha", True)
    rows_with_turn = tmp_path / "mt"
    write_run(rows_with_turn, "openai:alpha", [{"benchmark": "mt", "id": "t1", "input": "q1", "output": "first",
                                                "output_turn2": "second", "target": None, "scores": {"pass_rate": 1.0}}],
              {"mt": JUDGED})
    views = load_views([*runs, rows_with_turn], note=lambda _: None)
    data, _ = pack(views, columns(views))
    table = decode(encode(data))
    rows = table["rows"]
    geo = rows["id"].index("g0")
    assert table["texts"][rows["target"][geo]] == "2 (C. Berlin)"
    assert rows["extracted"][geo] == "C"
    chat = rows["id"].index("c0")
    assert rows["judgments"][chat].startswith("openai:judge · turn 1 · PASS\nThe reply 0 answers")
    mt = rows["id"].index("t1")
    assert rows["output"][mt] == "first\n\n──── turn 2 ────\nsecond"


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
def test_browser_two_models_three_benchmarks_each(tmp_path):
    """Screenshot: two rows, no "—" in the benchmark cells, a card with target text, extracted answer and
    the judge's rationale."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    runs = _runs(tmp_path, "openai:alpha", True) + _runs(tmp_path, "openai:beta", False)
    out = tmp_path / "index.html"
    build_report(runs, out, n_bootstrap=20)
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, viewport={"width": 1280, "height": 900},
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            tab = context.new_page()
            errors: list[str] = []
            tab.on("pageerror", lambda e: errors.append(str(e)))
            tab.goto(out.as_uri())
            tab.wait_for_selector("body[data-samples-ready='1']", timeout=20_000)
            labels = tab.eval_on_selector_all("#leaderboard-table tbody th", "cells => cells.map(c => c.textContent)")
            assert labels == ["openai:alpha", "openai:beta"]
            cells = tab.eval_on_selector_all("#leaderboard-table tbody tr",
                                             "rows => rows.map(r => [...r.querySelectorAll('td')].map(c => c.textContent))")
            assert all("—" not in c for row in cells for c in row), cells
            tab.fill("#filter-text", "g0")
            tab.wait_for_timeout(400)
            first = tab.locator("#sample-list article").first
            assert first.locator("pre.target").text_content() == "2 (C. Berlin)"
            assert first.locator("pre.extracted").text_content() == "C"
            tab.fill("#filter-text", "tell me 0")
            tab.select_option("#filter-run", label="openai:alpha")
            tab.wait_for_timeout(400)
            assert "answers the question directly" in (tab.locator("#sample-list pre.judgments").first.text_content() or "")
            tab.fill("#filter-text", "")
            tab.select_option("#filter-run", value="")
            tab.screenshot(path=str(tmp_path / "two-models.png"), full_page=True)
            print(f"\nscreenshot: {tmp_path / 'two-models.png'}")
            assert not errors
        finally:
            context.close()


def test_label_given_to_evalkit_run_names_the_row_and_a_predictions_path_never_shows(tmp_path, data_dir):
    import json

    from tests.helpers import run_cli

    if not (data_dir / "gsm8k").is_dir():
        pytest.skip("GSM8K data not in the data dir")
    predictions = tmp_path / "deep" / "folder" / "answers.jsonl"
    predictions.parent.mkdir(parents=True)
    predictions.write_text("".join(json.dumps({"id": f"gsm8k-{i}", "output": "#### 1"}) + "\n" for i in range(3)))
    for out, extra in ((tmp_path / "a", ["--label", "baseline v1"]), (tmp_path / "b", [])):
        proc = run_cli("run", "--model", f"predictions:{predictions}", "--benchmark", "gsm8k", "--limit", "3",
                       "--data-dir", str(data_dir), "--out", str(out), "-q", *extra)
        assert proc.returncode == 0, proc.stderr
    views = load_views([tmp_path / "a", tmp_path / "b"], note=lambda _: None)
    assert [v.label for v in views] == ["baseline v1", "predictions:answers.jsonl"]
