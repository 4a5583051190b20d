"""`evalkit run` on the safety benchmarks end to end, against a real local OpenAI-protocol server.

The fake server answers from an answers file: canned refusals and compliances (exact over-refusal
rates), or the human-labelled XSTest completions replayed as the model, with one human annotator's
labels replayed as the judge (a recorded-judgments file, so the judge path is checked on real data).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from helpers import run_cli

from evalkit.kinds.refusal import judge_request, load_refusal_template
from evalkit.scoring.refusal_rules import agreement, classify

REFUSE = "I'm sorry, but I can't help with that."
COMPLY = "Sure. Here is a practical, step-by-step answer to your question."


def _xstest_prompts(data_dir: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(open(data_dir / "xstest" / "xstest_prompts.csv", encoding="utf-8", newline="")))


def _write_answers(path: Path, entries: list[tuple[str, str]]) -> Path:
    """Answers file; longer matches first so no prompt is answered by an entry for a shorter one it contains."""
    with open(path, "w", encoding="utf-8") as out:
        for match, output in sorted(entries, key=lambda e: -len(e[0])):
            out.write(json.dumps({"match": match, "output": output}) + "\n")
    return path


def _run(server, data_dir: Path, out: Path, benchmark: str, *extra: str):
    proc = run_cli("run", "--model", "openai:fake", "--base-url", server.base_url, "--benchmark", benchmark,
                   "--data-dir", str(data_dir), "--out", str(out), "--no-cache", *extra)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text())["benchmarks"][benchmark]
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    return proc, results, rows


def test_xstest_over_refusal_is_exact(tmp_path, data_dir, fake_server):
    prompts = _xstest_prompts(data_dir)
    # refuse every 5th safe prompt (50 of 250) and comply with every 4th unsafe one (50 of 200)
    safe = [p for p in prompts if p["label"] == "safe"]
    unsafe = [p for p in prompts if p["label"] == "unsafe"]
    refused_safe = {p["prompt"] for p in safe[::5]}
    complied_unsafe = {p["prompt"] for p in unsafe[::4]}
    entries = [(p["prompt"], REFUSE if p["prompt"] in refused_safe else COMPLY) for p in safe]
    entries += [(p["prompt"], COMPLY if p["prompt"] in complied_unsafe else REFUSE) for p in unsafe]
    server = fake_server("--answers", str(_write_answers(tmp_path / "answers.jsonl", entries)))
    proc, results, rows = _run(server, data_dir, tmp_path / "run", "xstest")

    assert results["n"] == 450 and results["n_errors"] == 0 and results["classifier"] == "rules"
    metrics = results["metrics"]
    assert metrics["over_refusal"]["value"] == 50 / 250 and metrics["over_refusal"]["n"] == 250
    assert metrics["over_refusal_full"]["value"] == 50 / 250 and metrics["over_refusal_partial"]["value"] == 0.0
    assert metrics["unsafe_compliance"]["value"] == 50 / 200 and metrics["unsafe_compliance"]["n"] == 200
    lo, hi = metrics["over_refusal"]["ci95"]
    assert lo < 0.2 < hi
    # per-type breakdown: 18 types of 25 prompts, each with its own exact rate
    assert len(results["groups"]) == 18 and all(g["n"] == 25 for g in results["groups"].values())
    for name, group in results["groups"].items():
        typed = [p for p in prompts if p["type"] == name]
        if typed[0]["label"] == "safe":
            expected = sum(p["prompt"] in refused_safe for p in typed) / 25
            assert group["metrics"]["over_refusal"]["value"] == expected, name
        else:
            expected = sum(p["prompt"] in complied_unsafe for p in typed) / 25
            assert group["metrics"]["unsafe_compliance"]["value"] == expected, name
    assert {r["refusal_class"] for r in rows} == {"1_full_compliance", "2_full_refusal"}
    assert all(r["classifier"] == "rules" and r["rule"] for r in rows)
    # prompts and completions are data: nothing of them reaches the console
    console = proc.stdout + proc.stderr
    assert not any(p["prompt"] in console for p in prompts) and REFUSE not in console


def test_human_labelled_completions_rules_and_recorded_judge(tmp_path, data_dir, fake_server):
    """gpt4's XSTest completions replayed as the model; annotator 1's labels replayed as the judge."""
    prompts = {f"v2-{p['id']}": p["prompt"] for p in _xstest_prompts(data_dir)}
    path = data_dir / "xstest" / "model_completions" / "xstest_v2_completions_gpt4.csv"
    labelled = list(csv.DictReader(open(path, encoding="utf-8", newline="")))
    template = load_refusal_template("refusal")
    entries = []
    invalid_ids = {row["id"] for row in labelled[::90]}  # 5 judge replies without a class: counted invalid
    for row in labelled:
        prompt = prompts[row["id"]]
        entries.append((prompt, row["completion"]))
        judge_turn = judge_request(template, prompt, row["completion"]).messages[-1][1]
        reply = ("Recorded human annotation." if row["id"] in invalid_ids
                 else f"Recorded human annotation.\nCLASS: {row['annotation_1']}")
        entries.append((judge_turn, reply))
    server = fake_server("--answers", str(_write_answers(tmp_path / "answers.jsonl", entries)))

    _, rules_results, rules_rows = _run(server, data_dir, tmp_path / "rules", "xstest", "-q")
    by_id = {f"xstest-{row['id'].removeprefix('v2-')}": row for row in labelled}
    pairs = [(by_id[r["id"]]["final_label"], r["refusal_class"]) for r in rules_rows]
    direct = [(row["final_label"], classify(row["completion"], unsafe=row["type"].startswith("contrast")).label)
              for row in labelled]
    assert agreement(pairs) == agreement(direct) and agreement(pairs)["refuse_comply"] >= 0.98

    _, judged, rows = _run(server, data_dir, tmp_path / "judged", "xstest", "-q", "--judge", "openai:recorded")
    assert judged["classifier"] == "judge:openai:recorded" and judged["n_invalid"] == 5
    valid = [r for r in rows if r["refusal_class"] is not None]
    assert len(valid) == 445
    judge_pairs = [(by_id[r["id"]]["final_label"], r["refusal_class"]) for r in valid]
    expected = [(row["final_label"], row["annotation_1"]) for row in labelled if row["id"] not in invalid_ids]
    assert agreement(judge_pairs) == agreement(expected)
    safe_valid = [r for r in valid if r["metadata"]["label"] == "safe"]
    refused = sum(r["refusal_class"] != "1_full_compliance" for r in safe_valid)
    assert judged["metrics"]["over_refusal"]["value"] == refused / len(safe_valid)
    assert judged["metrics"]["over_refusal"]["n"] == len(safe_valid)
    assert judged["rules_agreement_with_judge"]["n"] == 445


def test_harmbench_reports_copyright_apart_and_advbench_runs(tmp_path, data_dir, fake_server):
    behaviours = list(csv.DictReader(open(data_dir / "harmbench" / "harmbench_behaviors_text_all.csv",
                                          encoding="utf-8", newline="")))
    entries = []
    for row in behaviours:
        text = f"{row['ContextString']}\n\n---\n\n{row['Behavior']}" if row["ContextString"] else row["Behavior"]
        complied = row["FunctionalCategory"] == "copyright" or row["BehaviorID"] in {b["BehaviorID"] for b in
                                                                                       behaviours[:10]}
        entries.append((text, COMPLY if complied else REFUSE))
    server = fake_server("--answers", str(_write_answers(tmp_path / "answers.jsonl", entries)),
                         "--default-reply", "no canned answer matched")
    _, results, rows = _run(server, data_dir, tmp_path / "hb", "harmbench", "-q")
    assert results["n"] == 400 and results["n_errors"] == 0
    assert {r["output"] for r in rows} <= {COMPLY, REFUSE}  # every prompt (context included) was matched
    metrics = results["metrics"]
    assert metrics["unsafe_compliance"]["value"] == 10 / 300 and metrics["unsafe_compliance"]["n"] == 300
    assert metrics["copyright_compliance"]["value"] == 1.0 and metrics["copyright_compliance"]["n"] == 100
    assert {name: g["n"] for name, g in results["groups"].items()} == {"contextual": 100, "copyright": 100,
                                                                         "standard": 200}
    assert set(results["breakdowns"]["semantic_category"]) >= {"chemical_biological", "copyright"}

    server = fake_server("--default-reply", REFUSE)
    _, adv, _ = _run(server, data_dir, tmp_path / "adv", "advbench", "-q", "--limit", "40")
    assert adv["n"] == 40 and adv["metrics"]["unsafe_compliance"]["value"] == 0.0
    assert adv["metrics"]["unsafe_full_refusal"]["value"] == 1.0
