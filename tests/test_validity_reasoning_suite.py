"""Validity of GPQA, MMLU-Pro and AIME on the real files, through `--model predictions:`.

Gold answers must score exactly 100%; a neighbour's answers (item i answered with item i+1's gold) must
score exactly the share the raw files say, computed here without evalkit's loaders: the CSV, Parquet and
JSONL files are read directly, and GPQA's per-item shuffle is re-derived from its documented rule
(SHA-256 of the Record ID seeds Python's ``random.shuffle`` of the four positions). No GPQA item text is
ever printed: assertions name Record IDs only.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli

LETTERS = "ABCDEFGHIJ"


# -- the raw files, read without evalkit -----------------------------------------------------------

def gpqa_items(data: Path, subset: str) -> list[tuple[str, int, str, str]]:
    """(id, gold position after the shuffle, domain, correct answer text as lm-eval preprocesses it)."""
    items = []
    with open(data / "gpqa" / f"gpqa_{subset}.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            seed = int.from_bytes(hashlib.sha256(row["Record ID"].encode()).digest()[:8], "big")
            order = list(range(4))
            random.Random(seed).shuffle(order)  # the correct answer is listed first in the CSV
            correct = row["Correct Answer"].strip().replace(" [title]", ". ").replace("  ", " ")
            items.append((f"gpqa-{row['Record ID']}", order.index(0), row["High-level domain"], correct))
    return items


def mmlu_pro_items(data: Path) -> list[tuple[str, str, int, str]]:
    """(id, gold letter, number of options, category), in file order."""
    import pyarrow.parquet as pq

    rows = pq.read_table(data / "mmlu_pro" / "test-00000-of-00001.parquet").to_pylist()
    return [(f"mmlu_pro-{r['question_id']}", r["answer"], len([o for o in r["options"] if o != "N/A"]), r["category"])
            for r in rows]


def aime_items(data: Path, year: str) -> list[tuple[str, str]]:
    """(id, answer as written in the file: aime24 keeps leading zeros)."""
    rows = [json.loads(line) for line in (data / year / "test.jsonl").read_text().splitlines() if line]
    if year == "aime24":
        return [(f"aime24-{r['id']}", r["answer"]) for r in rows]
    return [(f"aime25-{i}", r["answer"]) for i, r in enumerate(rows)]


def _shift(items: list[Any]) -> list[Any]:
    return items[1:] + items[:1]


def _share(pairs: list[tuple[Any, Any]]) -> float:
    return sum(1 for a, b in pairs if a == b) / len(pairs)


def _run(tmp: Path, data: Path, rows: list[dict[str, Any]], benchmarks: str, *args: str) -> tuple[dict, list[dict]]:
    predictions = tmp / "predictions.jsonl"
    predictions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp / "run"
    proc = run_cli("run", "--model", f"predictions:{predictions}", "--benchmark", benchmarks, "--data-dir", str(data),
                   "--out", str(out), "-q", *args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())["benchmarks"]
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().split("\n") if line]  # not splitlines: U+2028
    return results, samples


SUITE = "gpqa_diamond,gpqa_main,mmlu_pro,aime24,aime25"
SIZES = {"gpqa_diamond": 198, "gpqa_main": 448, "mmlu_pro": 12032, "aime24": 30, "aime25": 30}


def _answers(data: Path, pick: Any) -> list[dict[str, Any]]:
    """One prediction per item of every benchmark, the answer chosen by ``pick(benchmark, items)``."""
    rows: list[dict[str, Any]] = []
    for subset in ("diamond", "main"):
        items = gpqa_items(data, subset)
        rows += [{"benchmark": f"gpqa_{subset}", "id": i, "output": f"Step by step... The answer is ({LETTERS[g]})."}
                 for i, g in zip([i for i, *_ in items], pick([g for _, g, *_ in items]))]
    items = mmlu_pro_items(data)
    rows += [{"id": i, "output": f"A. is out, B. too. Therefore, the answer is ({g})."}
             for i, g in zip([i for i, *_ in items], pick([g for _, g, *_ in items]))]
    for year in ("aime24", "aime25"):
        items = aime_items(data, year)
        rows += [{"id": i, "output": f"So the final answer is $\\boxed{{{g}}}$."}
                 for i, g in zip([i for i, _ in items], pick([g for _, g in items]))]
    return rows


@pytest.fixture(scope="module")
def gold_run(data_dir, tmp_path_factory):
    return _run(tmp_path_factory.mktemp("gold"), data_dir, _answers(data_dir, lambda golds: golds), SUITE)


@pytest.fixture(scope="module")
def shifted_run(data_dir, tmp_path_factory):
    return _run(tmp_path_factory.mktemp("shifted"), data_dir, _answers(data_dir, _shift), SUITE)


@pytest.mark.parametrize("name", SUITE.split(","))
def test_gold_answers_score_exactly_100(gold_run, name):
    results, _ = gold_run
    entry = results[name]
    assert entry["n"] == SIZES[name] and entry["n_errors"] == 0 and entry["mode"] == "generate"
    headline = "pass@1" if name.startswith("aime") else "acc"
    assert entry["metrics"][headline]["value"] == 1.0
    for metric in ("invalid", "truncated"):
        if metric in entry["metrics"]:
            assert entry["metrics"][metric]["value"] == 0.0
    for group in entry.get("groups", {}).values():
        assert group["metrics"][headline]["value"] == 1.0


def test_groups_are_the_papers_domains_and_categories(gold_run, data_dir):
    results, _ = gold_run
    assert {d: g["n"] for d, g in results["gpqa_diamond"]["groups"].items()} == {
        "Biology": 19, "Chemistry": 93, "Physics": 86}
    assert {d: g["n"] for d, g in results["gpqa_main"]["groups"].items()} == {
        "Biology": 78, "Chemistry": 183, "Physics": 187}
    categories = defaultdict(int)
    for *_, category in mmlu_pro_items(data_dir):
        categories[category] += 1
    assert {c: g["n"] for c, g in results["mmlu_pro"]["groups"].items()} == dict(categories)
    assert len(categories) == 14 and categories["math"] == 1351


def test_gpqa_prompt_puts_the_correct_answer_at_the_gold_letter(gold_run, data_dir):
    _, samples = gold_run
    by_id = {s["id"]: s for s in samples if s["benchmark"] == "gpqa_diamond"}
    for item_id, gold, _, correct in gpqa_items(data_dir, "diamond"):
        prompt = by_id[item_id]["input"]
        assert f"\n({LETTERS[gold]}) {correct}\n" in prompt, item_id  # never print the item itself
        assert prompt.startswith("What is the correct answer to this question:"), item_id
        assert prompt.endswith("\nLet's think step by step: "), item_id


def test_gpqa_shuffle_spreads_the_gold_letter(data_dir):
    """A harness that forgets to shuffle puts every answer at A; ours spreads them (Diamond: 45/54/49/50)."""
    positions = [g for _, g, *_ in gpqa_items(data_dir, "diamond")]
    assert [positions.count(i) for i in range(4)] == [45, 54, 49, 50]


def test_shifted_answers_score_the_expected_share(shifted_run, data_dir):
    results, _ = shifted_run
    for subset in ("diamond", "main"):
        golds = [g for _, g, *_ in gpqa_items(data_dir, subset)]
        assert results[f"gpqa_{subset}"]["metrics"]["acc"]["value"] == pytest.approx(
            _share(list(zip(golds, _shift(golds)))), abs=1e-12)
    items = mmlu_pro_items(data_dir)
    hits = [float(a[1] == b[1]) for a, b in zip(items, _shift(items))]  # a letter past the options is wrong
    entry = results["mmlu_pro"]
    assert entry["metrics"]["acc"]["value"] == pytest.approx(sum(hits) / len(hits), abs=1e-12)
    per_category: dict[str, list[float]] = defaultdict(list)
    for (_, _, _, category), hit in zip(items, hits):
        per_category[category].append(hit)
    for category, values in per_category.items():
        assert entry["groups"][category]["metrics"]["acc"]["value"] == pytest.approx(sum(values) / len(values))
    assert entry["n_invalid"] == 0
    for year in ("aime24", "aime25"):
        golds = [int(g) for _, g in aime_items(data_dir, year)]
        assert results[year]["metrics"]["pass@1"]["value"] == pytest.approx(
            _share(list(zip(golds, _shift(golds)))), abs=1e-12)


def test_gpqa_by_log_likelihood(tmp_path, data_dir):
    items = gpqa_items(data_dir, "diamond")
    rows = [{"id": i, "choice_logliks": [0.0 if k == g else -5.0 for k in range(4)]} for i, g, *_ in items]
    results, samples = _run(tmp_path, data_dir, rows, "gpqa_diamond")
    entry = results["gpqa_diamond"]
    assert entry["mode"] == "loglikelihood"
    assert entry["metrics"]["acc"]["value"] == 1.0 and entry["metrics"]["acc_norm"]["value"] == 1.0
    assert samples[0]["input"].endswith("\nAnswer:")


def test_mmlu_pro_unparsed_replies_get_tiger_labs_guess(tmp_path, data_dir):
    """No letter at all: TIGER-AI-Lab reseeds random with 12345 and draws randint(0, n_options - 1)."""
    every = mmlu_pro_items(data_dir)
    # (not "I am not sure.": upstream's last pattern reads that "I" as option I, and so does evalkit)
    rows = [{"id": i, "output": "no idea, sorry."} for i, *_ in every]
    results, samples = _run(tmp_path, data_dir, rows, "mmlu_pro", "--limit", "300")  # spread over categories
    chosen = {s["id"] for s in samples}
    items = [item for item in every if item[0] in chosen]
    assert len(items) == 300

    def guess(n: int) -> int:
        random.seed(12345)
        return random.randint(0, n - 1)

    expected = [float(LETTERS[guess(n)] == gold) for _, gold, n, _ in items]
    entry = results["mmlu_pro"]
    assert entry["metrics"]["acc"]["value"] == pytest.approx(sum(expected) / len(expected), abs=1e-12)
    assert entry["n_invalid"] == 300 and all(s["guessed"] for s in samples)


def test_aime_pass_at_1_over_samples_and_majority_vote(tmp_path, data_dir):
    """N = 4 answers per problem: pass@1 is the mean over the 4, cons@4 the majority answer; ties go to the
    answer that came first; the interval is over the 30 problems."""
    items = aime_items(data_dir, "aime24")
    patterns = []
    rows = []
    for index, (item_id, gold) in enumerate(items):
        wrong, other = int(gold) + 1, int(gold) + 2
        pattern = [[gold, wrong, gold, other], [wrong, wrong, gold, other], [wrong, gold, other, gold],
                   [gold, gold, gold, gold], [other, wrong, other, wrong]][index % 5]
        patterns.append((pattern, gold))
        rows.append({"id": item_id, "output": [f"The answer is $\\boxed{{{a}}}$" for a in pattern]})
    results, samples = _run(tmp_path, data_dir, rows, "aime24", "--samples-per-task", "4")
    entry = results["aime24"]
    pass1 = [sum(str(a) == str(g) for a in p) / 4 for p, g in patterns]
    # majority by count; a tie goes to the answer seen first
    cons = []
    for pattern, gold in patterns:
        counts = {str(a): sum(str(b) == str(a) for b in pattern) for a in pattern}
        top = max(counts.values())
        winner = next(str(a) for a in pattern if counts[str(a)] == top)
        cons.append(float(winner == str(gold)))
    assert entry["metrics"]["pass@1"]["value"] == pytest.approx(sum(pass1) / 30, abs=1e-12)
    assert entry["metrics"]["cons@4"]["value"] == pytest.approx(sum(cons) / 30, abs=1e-12)
    assert entry["metrics"]["pass@1"]["n"] == 30  # one value per problem: the interval is over problems
    assert entry["samples_per_task"] == 4
    assert all(len(s["outputs"]) == 4 for s in samples)


def test_mmlu_pro_prompt_is_tiger_labs_byte_for_byte(gold_run, data_dir):
    """evaluate_from_local.py's generate_cot_prompt, restated from the raw files: initial_prompt.txt with {$}
    replaced by the category and "\\n" added, the first 5 validation rows of the category (N/A options
    dropped, cot_content's "A: Let's think step by step." turned into "Answer: …"), then the question."""
    import pyarrow.parquet as pq

    _, samples = gold_run
    by_id = {s["id"]: s["input"] for s in samples if s["benchmark"] == "mmlu_pro"}
    head = (data_dir / "mmlu_pro" / "initial_prompt.txt").read_text(encoding="utf-8")
    val = pq.read_table(data_dir / "mmlu_pro" / "validation-00000-of-00001.parquet").to_pylist()
    test = pq.read_table(data_dir / "mmlu_pro" / "test-00000-of-00001.parquet").to_pylist()

    def example(row: dict, with_answer: bool) -> str:
        options = [o for o in row["options"] if o != "N/A"]
        text = "Question:\n" + row["question"] + "\nOptions:\n" + "".join(
            f"{LETTERS[i]}. {o}\n" for i, o in enumerate(options))
        if with_answer:
            return text + row["cot_content"].replace("A: Let's think step by step.",
                                                     "Answer: Let's think step by step.") + "\n\n"
        return text + "Answer: Let's think step by step."

    shots = {c: [v for v in val if v["category"] == c][:5] for c in {v["category"] for v in val}}
    different = [r["question_id"] for r in test if by_id[f"mmlu_pro-{r['question_id']}"] != (
        head.replace("{$}", r["category"]) + "\n" + "".join(example(v, True) for v in shots[r["category"]])
        + example(r, False))]
    assert different == []


def test_list_shows_hub_revision_and_local_layout():
    proc = run_cli("list", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    expected = {"gpqa_diamond": ("Idavidrein/gpqa (gpqa_diamond)", "gpqa/gpqa_diamond.csv"),
                "gpqa_main": ("Idavidrein/gpqa (gpqa_main)", "gpqa/gpqa_main.csv"),
                "mmlu_pro": ("TIGER-Lab/MMLU-Pro", "mmlu_pro/test-*.parquet"),
                "aime24": ("HuggingFaceH4/aime_2024", "aime24/test.jsonl"),
                "aime25": ("math-ai/aime25", "aime25/test.jsonl")}
    for name, (hub, local) in expected.items():
        assert (rows[name]["hub"], rows[name]["local"]) == (hub, local)
        assert len(rows[name]["revision"]) == 40 and int(rows[name]["revision"], 16) >= 0
        assert rows[name]["size"] == SIZES[name]
