"""Validity of the knowledge and reasoning suite on the real files, through `--model predictions:`.

Gold answers must score exactly 100% on every benchmark; answers taken from a neighbouring item must
score exactly what the data says they should (computed here from the raw files, not from evalkit's
loaders). Ids and gold answers are read independently of the specs, so a wrong field mapping fails.
"""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli

from evalkit.scoring.verified_math import is_verified

LETTERS = "ABCDEFGHIJ"
SUITE = ["gsm8k", "gsm8k_cot", "bbh", "math500", "mmlu", "arc_challenge", "truthfulqa_mc1", "truthfulqa_mc2"]


# -- the raw files, read without evalkit -----------------------------------------------------------

def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def gsm8k_items(data: Path) -> list[tuple[str, str]]:
    return [(f"gsm8k-{i}", r["answer"].split("####")[-1].strip().replace(",", ""))
            for i, r in enumerate(_jsonl(data / "gsm8k" / "test.jsonl"))]


def bbh_items(data: Path) -> list[tuple[str, str, str]]:
    """(id, task, target) in the order evalkit loads them (files sorted, one running index)."""
    items = []
    for path in sorted((data / "bbh" / "bbh").glob("*.json")):
        for example in json.loads(path.read_text(encoding="utf-8"))["examples"]:
            items.append((f"bbh-{path.stem}-{len(items)}", path.stem, example["target"]))
    return items


def math500_items(data: Path) -> list[tuple[str, str]]:
    return [(r["unique_id"], r["answer"]) for r in _jsonl(data / "math500" / "test.jsonl")]


def mmlu_items(data: Path) -> list[tuple[str, str, int]]:
    """(id, subject, answer index); the files have a header row and numeric answers."""
    items = []
    for path in sorted((data / "mmlu" / "test").glob("*_test.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                items.append((f"mmlu-{path.stem}-{len(items)}", path.stem.removesuffix("_test"), int(row["answer"])))
    return items


def arc_items(data: Path) -> list[tuple[str, int, int]]:
    """(id, answer index, number of choices); labels are letters or digits."""
    items = []
    for row in _jsonl(data / "arc_challenge" / "ARC-Challenge-Test.jsonl"):
        labels = [c["label"] for c in row["question"]["choices"]]
        items.append((row["id"], labels.index(row["answerKey"]), len(labels)))
    return items


def truthfulqa_items(data: Path) -> list[tuple[str, int, int, list[int]]]:
    """(id, mc1 answer index among the alphabetically sorted choices, n mc1 choices, mc2 labels)."""
    rows = json.loads((data / "truthfulqa" / "mc_task.json").read_text(encoding="utf-8-sig"))
    items = []
    for i, row in enumerate(rows):
        mc1 = list(row["mc1_targets"])
        items.append((f"truthfulqa-{i}", sorted(mc1).index(mc1[0]), len(mc1), list(row["mc2_targets"].values())))
    return items


def one_hot(index: int, n: int) -> list[float]:
    return [0.0 if i == index else -7.5 for i in range(n)]


def lm_eval_mc2(logliks: list[float], labels: list[int]) -> float:
    """lm-evaluation-harness's process_results_mc2, restated: true answers come first in the labels."""
    split = labels.index(0)
    p_true = [math.exp(x) for x in logliks[:split]]
    p_false = [math.exp(x) for x in logliks[split:]]
    return sum(p_true) / (sum(p_true) + sum(p_false))


# -- the two runs ------------------------------------------------------------------------------

def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _run(tmp: Path, data: Path, rows: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict]]:
    predictions = _write(tmp / "predictions.jsonl", rows)
    out = tmp / "run"
    proc = run_cli("run", "--model", f"predictions:{predictions}", "--benchmark", ",".join(SUITE),
                   "--data-dir", str(data), "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text())["benchmarks"]
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().split("\n") if line]
    return results, samples


def _shift(items: list[Any]) -> list[Any]:
    """Each item paired with the next one's answer (the last with the first)."""
    return items[1:] + items[:1]


@pytest.fixture(scope="module")
def gold_run(data_dir, tmp_path_factory):
    data = data_dir
    rows: list[dict[str, Any]] = []
    rows += [{"benchmark": "gsm8k", "id": i, "output": f"Step by step...\n#### {g}"} for i, g in gsm8k_items(data)]
    rows += [{"benchmark": "gsm8k_cot", "id": i, "output": f" We add them up. The answer is {g}."}
             for i, g in gsm8k_items(data)]
    rows += [{"id": i, "output": f"Let's think step by step. So the answer is {t}."} for i, _, t in bbh_items(data)]
    rows += [{"id": i, "output": f"Thus the answer is $\\boxed{{{a}}}$."} for i, a in math500_items(data)]
    rows += [{"id": i, "choice_logliks": one_hot(a, 4)} for i, _, a in mmlu_items(data)]
    rows += [{"id": i, "choice_logliks": one_hot(a, n)} for i, a, n in arc_items(data)]
    rows += [{"benchmark": "truthfulqa_mc1", "id": i, "choice_logliks": one_hot(a, n)}
             for i, a, n, _ in truthfulqa_items(data)]
    rows += [{"benchmark": "truthfulqa_mc2", "id": i, "choice_logliks": [0.0 if x else -1000.0 for x in labels]}
             for i, _, _, labels in truthfulqa_items(data)]
    return _run(tmp_path_factory.mktemp("gold"), data, rows)


@pytest.fixture(scope="module")
def shifted_run(data_dir, tmp_path_factory):
    """Each item answered with its neighbour's answer (MC benchmarks as letters, in generate mode)."""
    data = data_dir
    rows: list[dict[str, Any]] = []
    gsm = gsm8k_items(data)
    rows += [{"id": i, "output": f"#### {g}\nThe answer is {g}."} for (i, _), (_, g) in zip(gsm, _shift(gsm))]
    bbh = bbh_items(data)
    rows += [{"id": i, "output": f"So the answer is {t}."} for (i, _, _), (_, _, t) in zip(bbh, _shift(bbh))]
    math = math500_items(data)
    rows += [{"id": i, "output": f"\\boxed{{{a}}}"} for (i, _), (_, a) in zip(math, _shift(math))]
    mmlu = mmlu_items(data)
    rows += [{"id": i, "output": f"The answer is ({LETTERS[a]})."} for (i, _, _), (_, _, a) in zip(mmlu, _shift(mmlu))]
    arc = arc_items(data)
    rows += [{"id": i, "output": f"{LETTERS[a]}"} for (i, _, _), (_, a, _) in zip(arc, _shift(arc))]
    tqa = truthfulqa_items(data)
    rows += [{"benchmark": "truthfulqa_mc1", "id": i, "output": f"Answer: {LETTERS[a] if a < 10 else 'Z'}"}
             for (i, *_), (_, a, *_) in zip(tqa, _shift(tqa))]
    # mc2 has no generate mode: random log-likelihoods, checked against lm-evaluation-harness's formula
    rng = random.Random(7)
    rows += [{"benchmark": "truthfulqa_mc2", "id": i, "choice_logliks": [rng.uniform(-30, -1) for _ in labels]}
             for i, _, _, labels in tqa]
    return _run_mixed(tmp_path_factory.mktemp("shifted"), data, rows)


def _run_mixed(tmp: Path, data: Path, rows: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict]]:
    """mc2 in log-likelihood mode, everything else generating: two runs over one predictions file."""
    predictions = _write(tmp / "predictions.jsonl", rows)
    results: dict[str, Any] = {}
    samples: list[dict] = []
    for mode, names in (("generate", [n for n in SUITE if n != "truthfulqa_mc2"]), ("loglikelihood", ["truthfulqa_mc2"])):
        out = tmp / mode
        proc = run_cli("run", "--model", f"predictions:{predictions}", "--benchmark", ",".join(names), "--mode", mode,
                       "--data-dir", str(data), "--out", str(out), "-q")
        assert proc.returncode == 0, proc.stderr
        results.update(json.loads((out / "results.json").read_text())["benchmarks"])
        samples += [json.loads(line) for line in (out / "samples.jsonl").read_text().split("\n") if line]
    return results, samples


# -- gold: exactly 100% everywhere -----------------------------------------------------------------

EXPECTED_SIZES = {"gsm8k": 1319, "gsm8k_cot": 1319, "bbh": 6511, "math500": 500, "mmlu": 14042,
                  "arc_challenge": 1172, "truthfulqa_mc1": 817, "truthfulqa_mc2": 817}


@pytest.mark.parametrize("name", SUITE)
def test_gold_answers_score_exactly_100(gold_run, name):
    results, _ = gold_run
    entry = results[name]
    assert entry["n"] == EXPECTED_SIZES[name] and entry["n_errors"] == 0
    assert entry["metrics"], name
    for metric, summary in entry["metrics"].items():  # truncated (lower is better) must be 0
        assert summary["value"] == (1.0 if summary["higher_is_better"] else 0.0), (name, metric, summary["value"])
    for group in entry.get("groups", {}).values():
        assert all(m["value"] == (1.0 if m["higher_is_better"] else 0.0) for m in group["metrics"].values())


def test_modes_follow_the_predictions(gold_run):
    results, _ = gold_run
    assert {n: results[n]["mode"] for n in SUITE} == {
        "gsm8k": "generate", "gsm8k_cot": "generate", "bbh": "generate", "math500": "generate",
        "mmlu": "loglikelihood", "arc_challenge": "loglikelihood", "truthfulqa_mc1": "loglikelihood",
        "truthfulqa_mc2": "loglikelihood"}


def test_groups_and_rollups_cover_every_item(gold_run, data_dir):
    results, _ = gold_run
    mmlu = results["mmlu"]
    assert len(mmlu["groups"]) == 57
    rollups = mmlu["rollups"]
    assert sum(rollups[c]["n"] for c in ("stem", "humanities", "social_sciences", "other")) == 14042
    assert [rollups[c]["n_groups"] for c in ("stem", "humanities", "social_sciences", "other")] == [19, 13, 12, 13]
    assert rollups["subject_average"]["n_groups"] == 57
    bbh = results["bbh"]
    assert len(bbh["groups"]) == 27 and bbh["rollups"]["task_average"]["n_groups"] == 27
    assert {t: g["n"] for t, g in bbh["groups"].items()} == {
        t: sum(1 for _, task, _ in bbh_items(data_dir) if task == t) for t in bbh["groups"]}


def test_every_sample_keeps_its_rendered_prompt(gold_run, data_dir):
    _, samples = gold_run
    by_key = {(s["benchmark"], s["id"]): s for s in samples}
    assert len(by_key) == sum(EXPECTED_SIZES.values())
    assert all(s["input"] for s in samples)
    # gsm8k_cot: the 8 exemplars, then the question
    cot = by_key[("gsm8k_cot", "gsm8k-0")]["input"]
    assert cot.count("Q: ") == 9 and cot.endswith("\nA:") and cot.startswith("Q: There are 15 trees")
    # bbh: the task's CoT prompt file (less its canary), then the question
    prompt_file = (data_dir / "bbh" / "cot-prompts" / "navigate.txt").read_text().split("-----", 1)[1].strip()
    first_navigate = next(i for i, task, _ in bbh_items(data_dir) if task == "navigate")
    question = json.loads((data_dir / "bbh" / "bbh" / "navigate.json").read_text())["examples"][0]["input"]
    assert by_key[("bbh", first_navigate)]["input"] == f"{prompt_file}\n\nQ: {question}\nA: Let's think step by step.\n"
    # mmlu: lm-evaluation-harness's description, 5 dev examples of the same subject, the question
    mmlu = by_key[("mmlu", "mmlu-abstract_algebra_test-0")]["input"]
    assert mmlu.startswith("The following are multiple choice questions (with answers) about abstract algebra.\n\n")
    assert mmlu.count("\nAnswer: ") == 5 and mmlu.endswith("D. 6\nAnswer:")
    assert by_key[("mmlu", "mmlu-abstract_algebra_test-0")]["choice_logliks"] == one_hot(1, 4)


# -- answers of another item: exactly the expected share ------------------------------------------

def _share(pairs: list[tuple[Any, Any]], same: Any = lambda a, b: a == b) -> float:
    return sum(1 for a, b in pairs if same(a, b)) / len(pairs)


def test_shifted_reasoning_answers(shifted_run, data_dir):
    results, _ = shifted_run
    gsm = [g for _, g in gsm8k_items(data_dir)]
    expected = _share(list(zip(gsm, _shift(gsm))), lambda a, b: float(a) == float(b))
    for name in ("gsm8k", "gsm8k_cot"):
        for metric in ("exact_match_strict", "exact_match_flexible"):
            assert results[name]["metrics"][metric]["value"] == pytest.approx(expected, abs=1e-12)
        assert results[name]["metrics"]["truncated"]["value"] == 0.0
    targets = [t for *_, t in bbh_items(data_dir)]
    assert results["bbh"]["metrics"]["exact_match"]["value"] == pytest.approx(
        _share(list(zip(targets, _shift(targets)))), abs=1e-12)
    answers = [a for _, a in math500_items(data_dir)]
    assert results["math500"]["metrics"]["exact_match"]["value"] == pytest.approx(
        _share(list(zip(answers, _shift(answers))), is_verified), abs=1e-12)


def test_shifted_mmlu_per_subject_category_and_average(shifted_run, data_dir):
    results, _ = shifted_run
    items = mmlu_items(data_dir)
    hits = {i: float(a == b) for (i, _, a), (_, _, b) in zip(items, _shift(items))}
    subject_of = {i: s for i, s, _ in items}
    entry = results["mmlu"]
    assert entry["metrics"]["acc"]["value"] == pytest.approx(sum(hits.values()) / len(hits), abs=1e-12)
    per_subject: dict[str, list[float]] = {}
    for i, hit in hits.items():
        per_subject.setdefault(subject_of[i], []).append(hit)
    for subject, values in per_subject.items():
        assert entry["groups"][subject]["metrics"]["acc"]["value"] == pytest.approx(sum(values) / len(values), abs=1e-12)
    macro = sum(sum(v) / len(v) for v in per_subject.values()) / len(per_subject)
    assert entry["rollups"]["subject_average"]["metrics"]["acc"]["value"] == pytest.approx(macro, abs=1e-12)
    stem_subjects = {"abstract_algebra", "anatomy", "astronomy", "college_biology", "college_chemistry",
                     "college_computer_science", "college_mathematics", "college_physics", "computer_security",
                     "conceptual_physics", "electrical_engineering", "elementary_mathematics", "high_school_biology",
                     "high_school_chemistry", "high_school_computer_science", "high_school_mathematics",
                     "high_school_physics", "high_school_statistics", "machine_learning"}
    stem_hits = [hit for i, hit in hits.items() if subject_of[i] in stem_subjects]
    assert entry["rollups"]["stem"]["metrics"]["acc"]["value"] == pytest.approx(sum(stem_hits) / len(stem_hits), abs=1e-12)
    assert entry["n_invalid"] == 0


def test_shifted_letters_on_arc_and_truthfulqa(shifted_run, data_dir):
    results, _ = shifted_run
    arc = arc_items(data_dir)
    pairs = list(zip(arc, _shift(arc)))
    assert results["arc_challenge"]["metrics"]["acc"]["value"] == pytest.approx(
        _share([(a[1], b[1]) for a, b in pairs]), abs=1e-12)
    assert results["arc_challenge"]["n_invalid"] == sum(1 for a, b in pairs if b[1] >= a[2])  # "E" for a 4-choice item
    tqa = truthfulqa_items(data_dir)
    pairs = list(zip(tqa, _shift(tqa)))
    assert results["truthfulqa_mc1"]["metrics"]["acc"]["value"] == pytest.approx(
        _share([(a[1], b[1]) for a, b in pairs]), abs=1e-12)


def label_mass(logliks: list[float], labels: list[int]) -> float:
    """The paper's definition: probability mass on the answers labelled true."""
    mass = [math.exp(x) for x in logliks]
    return sum(m for m, label in zip(mass, labels) if label) / sum(mass)


def test_mc2_matches_lm_eval_formula_on_random_logliks(shifted_run, data_dir):
    results, samples = shifted_run
    labels = {i: lab for i, _, _, lab in truthfulqa_items(data_dir)}
    rows = [s for s in samples if s["benchmark"] == "truthfulqa_mc2"]
    assert len(rows) == 817
    # lm-evaluation-harness splits at the first false label; that is the paper's definition when the true
    # answers come first, as on the hub. In mc_task.json two items (a JSON object with a repeated answer
    # text) have a true label after a false one; there the labels are followed.
    unsorted = [r["id"] for r in rows if labels[r["id"]] != sorted(labels[r["id"]], reverse=True)]
    assert unsorted == ["truthfulqa-164", "truthfulqa-607"]
    expected = {}
    for row in rows:
        ll, lab = row["choice_logliks"], labels[row["id"]]
        expected[row["id"]] = label_mass(ll, lab) if row["id"] in unsorted else lm_eval_mc2(ll, lab)
        assert row["scores"]["mc2"] == pytest.approx(expected[row["id"]], rel=1e-12)
    assert results["truthfulqa_mc2"]["metrics"]["mc2"]["value"] == pytest.approx(
        sum(expected.values()) / len(expected), rel=1e-12)
