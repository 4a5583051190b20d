"""Prompt parity with lm-evaluation-harness: are evalkit's requests byte-identical to lm-eval's?

    python bench/prompt_parity.py [--lm-eval-python /tmp/peers/lmeval/bin/python] [--data-dir ../shared/data]

lm-eval (its own venv, never the project's) builds the requests of its installed task YAMLs
(mmlu_<subject>, arc_challenge, truthfulqa_mc1/mc2, gsm8k_cot, bbh_cot_fewshot_<task>, mmlu_pro_<category>,
gpqa_{diamond,main}_cot_zeroshot and gpqa_{diamond,main}_zeroshot), with only the dataset pointed at the
local files (converted to the hub schema they expect) and MMLU at 5 shots (as `lm_eval --num_fewshot 5`).
evalkit renders the same items from its specs. Every prompt is compared as bytes, the continuations as a
set (truthfulqa_mc1 sorts its choices); the script prints the share that is identical and the first
difference of each benchmark. GPQA's choices are shuffled by both, differently (lm-eval with the process's
unseeded-per-item `random.shuffle`, evalkit by Record ID), so GPQA is also compared "up to choice order":
lm-eval's prompt equals evalkit's rendered with some order of the same four choice texts. GPQA differences
are reported by position only, never with item text. Takes ~5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_LM_EVAL_STAGE = r"""
import json, os, sys
os.environ["HF_DATASETS_OFFLINE"] = "1"; os.environ["HF_HUB_OFFLINE"] = "1"
from lm_eval.tasks import TaskManager, get_task_dict
work = sys.argv[1]
names = json.load(open(os.path.join(work, "tasks.json")))
manager = TaskManager(include_path=os.path.join(work, "yaml"), include_defaults=True)
out = {}
for name, task in get_task_dict(names, manager).items():
    task.build_all_requests(limit=None, rank=0, world_size=1)
    rows = {}
    for inst in task.instances:
        context, second = inst.args[0], inst.args[1]
        entry = rows.setdefault(inst.doc_id, {"context": context, "continuations": []})
        if isinstance(second, str):
            entry["continuations"].append(second)
    out[name] = [rows[i] for i in sorted(rows)]
json.dump(out, open(os.path.join(work, "lm_eval.json"), "w"))
"""


def _jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def _csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def prepare(data: Path, work: Path, lm_tasks: Path) -> dict[str, tuple[str, list[str]]]:
    """Write hub-schema data and task YAMLs; return lm-eval task → (evalkit benchmark, evalkit sample ids)."""
    (work / "yaml").mkdir()
    (work / "data").mkdir()
    plan: dict[str, tuple[str, list[str]]] = {}

    def task_yaml(name: str, include: Path, **overrides: object) -> None:
        config = {"include": str(include), "task": name, "tag": [], "dataset_path": "json", "dataset_name": None,
                  **overrides}
        (work / "yaml" / f"{name}.yaml").write_text(json.dumps(config), encoding="utf-8")

    index = 0
    for test in sorted((data / "mmlu" / "test").glob("*_test.csv")):
        subject = test.stem.removesuffix("_test")
        files = {}
        for split, path in (("test", test), ("dev", data / "mmlu" / "dev" / f"{subject}_dev.csv")):
            rows = [{"question": r["question"], "subject": subject, "choices": [r[f"choice{i}"] for i in range(4)],
                     "answer": int(r["answer"])} for r in _csv(path)]
            files[split] = _jsonl(work / "data" / f"mmlu_{subject}_{split}.jsonl", rows)
        ids = [f"mmlu-{test.stem}-{index + i}" for i in range(len(_csv(test)))]
        index += len(ids)
        task_yaml(f"parity_mmlu_{subject}", lm_tasks / "mmlu" / "default" / f"mmlu_{subject}.yaml",
                  dataset_kwargs={"data_files": files}, num_fewshot=5)  # lm_eval --num_fewshot 5
        plan[f"parity_mmlu_{subject}"] = ("mmlu", ids)

    arc = [json.loads(line) for line in (data / "arc_challenge" / "ARC-Challenge-Test.jsonl").read_text().splitlines()]
    rows = [{"id": r["id"], "question": r["question"]["stem"], "answerKey": r["answerKey"],
             "choices": {"text": [c["text"] for c in r["question"]["choices"]],
                         "label": [c["label"] for c in r["question"]["choices"]]}} for r in arc]
    task_yaml("parity_arc_challenge", lm_tasks / "arc" / "arc_challenge.yaml", training_split=None,
              validation_split=None, dataset_kwargs={"data_files": {"test": _jsonl(work / "data" / "arc.jsonl", rows)}})
    plan["parity_arc_challenge"] = ("arc_challenge", [r["id"] for r in arc])

    tqa = json.loads((data / "truthfulqa" / "mc_task.json").read_text(encoding="utf-8-sig"))
    rows = [{"question": r["question"],
             "mc1_targets": {"choices": list(r["mc1_targets"]), "labels": list(r["mc1_targets"].values())},
             "mc2_targets": {"choices": list(r["mc2_targets"]), "labels": list(r["mc2_targets"].values())}}
            for r in tqa]
    tqa_file = _jsonl(work / "data" / "truthfulqa.jsonl", rows)
    for name in ("truthfulqa_mc1", "truthfulqa_mc2"):
        task_yaml(f"parity_{name}", lm_tasks / "truthfulqa" / f"{name}.yaml",
                  dataset_kwargs={"data_files": {"validation": tqa_file}})
        plan[f"parity_{name}"] = (name, [f"truthfulqa-{i}" for i in range(len(tqa))])

    gsm = str(data / "gsm8k" / "test.jsonl")
    task_yaml("parity_gsm8k_cot", lm_tasks / "gsm8k" / "gsm8k-cot.yaml", dataset_kwargs={"data_files": {"test": gsm}})
    plan["parity_gsm8k_cot"] = ("gsm8k_cot", [f"gsm8k-{i}" for i in range(len(Path(gsm).read_text().splitlines()))])

    index = 0
    for path in sorted((data / "bbh" / "bbh").glob("*.json")):
        examples = json.loads(path.read_text(encoding="utf-8"))["examples"]
        name = f"parity_bbh_{path.stem}"
        task_yaml(name, lm_tasks / "bbh" / "cot_fewshot" / f"{path.stem}.yaml",
                  dataset_kwargs={"data_files": {"test": _jsonl(work / "data" / f"bbh_{path.stem}.jsonl", examples)}})
        plan[name] = ("bbh", [f"bbh-{path.stem}-{index + i}" for i in range(len(examples))])
        index += len(examples)

    import pyarrow.parquet as pq  # MMLU-Pro: the hub's own Parquet files, as lm-eval reads them

    splits = {"test": str(data / "mmlu_pro" / "test-00000-of-00001.parquet"),
              "validation": str(data / "mmlu_pro" / "validation-00000-of-00001.parquet")}
    test_rows = pq.read_table(splits["test"]).to_pylist()
    for path in sorted((lm_tasks / "mmlu_pro").glob("mmlu_pro_*.yaml")):
        category = path.stem.removeprefix("mmlu_pro_").replace("_", " ")
        task_yaml(f"parity_{path.stem}", path, dataset_path="parquet", dataset_kwargs={"data_files": splits})
        plan[f"parity_{path.stem}"] = ("mmlu_pro@generate", [f"mmlu_pro-{r['question_id']}" for r in test_rows
                                                             if r["category"] == category])
    for subset in ("diamond", "main"):
        csv_path = str(data / "gpqa" / f"gpqa_{subset}.csv")
        ids = [f"gpqa-{r['Record ID']}" for r in _csv(Path(csv_path))]
        for style, mode in (("cot_zeroshot", "generate"), ("zeroshot", "loglikelihood")):
            name = f"parity_gpqa_{subset}_{style}"
            task_yaml(name, lm_tasks / "gpqa" / style / f"gpqa_{subset}_{style}.yaml", dataset_path="csv",
                      dataset_kwargs={"data_files": {"train": csv_path}})
            plan[name] = (f"gpqa_{subset}@{mode}", ids)
    return plan


def evalkit_requests(data: Path, benchmark: str) -> dict[str, dict]:
    """Per sample id: the prompt, the continuations, and (GPQA) the prompts of every order of its choices.

    ``benchmark`` may name a mode, ``gpqa_diamond@generate``; else log-likelihood where the spec has it."""
    sys.path.insert(0, str(REPO))
    import dataclasses
    import itertools

    from evalkit.tasks import load_task
    from evalkit.types import GenerateRequest

    name, _, mode = benchmark.partition("@")
    task = load_task(name, data)
    mode = mode or ("loglikelihood" if "loglikelihood" in task.spec.modes else "generate")

    def context(sample: object) -> str:
        first = task.kind.requests(sample, mode)[0]  # type: ignore[arg-type]
        return first.prompt_text() if isinstance(first, GenerateRequest) else first.context

    out = {}
    for sample in task.samples:
        requests = task.kind.requests(sample, mode)
        entry = {"context": context(sample), "continuations": [getattr(r, "continuation", None) for r in requests
                                                               if not isinstance(r, GenerateRequest)]}
        if name.startswith("gpqa"):
            entry["any_order"] = {context(dataclasses.replace(sample, choices=order))
                                  for order in itertools.permutations(sample.choices or ())}
        out[sample.id] = entry
    return out


def _first_difference(a: str, b: str) -> str:
    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"at char {at}: lm-eval {a[max(0, at - 40):at + 40]!r}\n{' ' * 18}evalkit {b[max(0, at - 40):at + 40]!r}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lm-eval-python", default="/tmp/peers/lmeval/bin/python")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    data = args.data_dir.resolve()
    lm_tasks = Path(subprocess.run([args.lm_eval_python, "-c", "import lm_eval.tasks, os; "
                                    "print(os.path.dirname(lm_eval.tasks.__file__))"],
                                   capture_output=True, text=True, check=True).stdout.strip())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        plan = prepare(data, work, lm_tasks)
        (work / "tasks.json").write_text(json.dumps(sorted(plan)))
        subprocess.run([args.lm_eval_python, "-c", _LM_EVAL_STAGE, str(work)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        theirs = json.loads((work / "lm_eval.json").read_text())
    ours = {b: evalkit_requests(data, b) for b in sorted({b for b, _ in plan.values()})}
    totals: dict[str, list[int]] = {}
    first_diff: dict[str, str] = {}
    for task_name, (benchmark, ids) in plan.items():
        count = totals.setdefault(benchmark, [0, 0, 0, 0])
        for sample_id, lm in zip(ids, theirs[task_name], strict=True):
            mine = ours[benchmark][sample_id]
            count[0] += 1
            count[1] += lm["context"] == mine["context"]
            # as sets: truthfulqa_mc1 lists its choices sorted (upstream puts the true one first)
            count[2] += sorted(lm["continuations"]) == sorted(mine["continuations"])
            count[3] += lm["context"] in mine.get("any_order", {mine["context"]})
            if lm["context"] != mine["context"] and benchmark not in first_diff:
                if benchmark.startswith("gpqa"):  # GPQA items are never printed
                    at = next((i for i, (x, y) in enumerate(zip(lm["context"], mine["context"])) if x != y), None)
                    first_diff[benchmark] = f"{sample_id}: first differing character at {at}"
                else:
                    first_diff[benchmark] = f"{sample_id} " + _first_difference(lm["context"], mine["context"])
    print(f"{'benchmark':24} {'items':>6} {'same prompt':>12} {'up to choice order':>19} {'same choice set':>16}")
    for benchmark, (n, same, same_cont, any_order) in sorted(totals.items()):
        print(f"{benchmark:24} {n:6d} {same / n:12.2%} {any_order / n:19.2%} {same_cont / n:16.2%}")
    for benchmark, text in first_diff.items():
        print(f"\nfirst difference, {benchmark}: {text}")


if __name__ == "__main__":
    main()
