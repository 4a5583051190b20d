"""Parity and speed against lm-evaluation-harness on ARC-Challenge (log-likelihood, SmolLM2-135M, CPU).

Runs lm-eval 0.4.x (its ``hf`` backend, in its own venv) and evalkit on the same plain HF model
directory and the same first N ARC-Challenge test items, then checks that every per-choice
log-likelihood agrees within 1e-4 and that acc/acc_norm are identical, item by item. Both are timed
end to end (process start to exit) in the same script, one after the other.

Setup (once; the peer never enters the project venv):
    python -m venv /tmp/peers/lmeval
    /tmp/peers/lmeval/bin/pip install torch==2.13.0 && /tmp/peers/lmeval/bin/pip install "lm-eval[hf]>=0.4,<0.5"

Usage:
    python bench/parity_lm_eval.py --limit 100            # a subset
    python bench/parity_lm_eval.py                        # all 1,172 items
    python bench/parity_lm_eval.py --threads 1 --batch-size 16
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evalkit.backends.gguf_to_hf import convert_gguf
from evalkit.backends.hf import embedded_gguf

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("EVALKIT_DATA_DIR", REPO.parent / "shared" / "data"))
ARC = DATA / "arc_challenge" / "ARC-Challenge-Test.jsonl"
LM_EVAL = Path("/tmp/peers/lmeval/bin/lm_eval")
MODEL_DIR = Path("/tmp/peers/smollm2-135m-instruct-hf")
TOLERANCE = 1e-4

TASK_YAML = """\
task: arc_challenge_local
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: "{{{{choices.label.index(answerKey)}}}}"
doc_to_choice: "{{{{choices.text}}}}"
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
  - metric: acc_norm
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
"""


def hub_layout(limit: int | None, path: Path) -> list[str]:
    """The first N local rows rewritten in the hub's layout, which lm-eval's arc task expects."""
    ids = []
    with open(path, "w", encoding="utf-8") as out:
        for number, line in enumerate(ARC.read_text(encoding="utf-8").splitlines()):
            if limit is not None and number >= limit:
                break
            row = json.loads(line)
            choices = row["question"]["choices"]
            out.write(json.dumps({"id": row["id"], "question": row["question"]["stem"],
                                  "choices": {"text": [c["text"] for c in choices],
                                              "label": [c["label"] for c in choices]},
                                  "answerKey": row["answerKey"]}) + "\n")
            ids.append(row["id"])
    return ids


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"{command[0]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return elapsed


def lm_eval_rows(out: Path) -> dict[str, dict]:
    files = sorted(out.rglob("samples_arc_challenge_local_*.jsonl"))
    if not files:
        sys.exit(f"no lm-eval samples file under {out}")
    rows = {}
    for line in files[-1].read_text().splitlines():
        row = json.loads(line)
        logliks = [float(resp[0][0]) for resp in row["resps"]]
        rows[row["doc"]["id"]] = {"logliks": logliks, "acc": row["acc"], "acc_norm": row["acc_norm"]}
    return rows


def evalkit_rows(out: Path) -> dict[str, dict]:
    rows = {}
    for line in (out / "samples.jsonl").read_text().splitlines():
        row = json.loads(line)
        rows[row["id"]] = {"logliks": row["choice_logliks"], **row["scores"]}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="first N test items (default: all 1,172)")
    parser.add_argument("--batch-size", type=int, default=16, help="the same for both harnesses")
    parser.add_argument("--threads", type=int, default=None, help="OMP/torch threads for both (default: torch's)")
    parser.add_argument("--out", type=Path, default=None, help="where to keep both runs (default: a temp dir)")
    args = parser.parse_args()
    if not LM_EVAL.exists():
        sys.exit(f"{LM_EVAL} not found; see this script's docstring for the one-time setup")
    if not (MODEL_DIR / "config.json").is_file():
        print(f"converting the embedded GGUF to {MODEL_DIR} …", flush=True)
        convert_gguf(embedded_gguf(), MODEL_DIR)
    work = args.out or Path(tempfile.mkdtemp(prefix="parity-"))
    work.mkdir(parents=True, exist_ok=True)
    ids = hub_layout(args.limit, work / "arc_hub_layout.jsonl")
    (work / "tasks").mkdir(exist_ok=True)
    (work / "tasks" / "arc_challenge_local.yaml").write_text(TASK_YAML.format(data=work / "arc_hub_layout.jsonl"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "HF_DATASETS_CACHE": str(work / "hf_datasets_cache"), "EVALKIT_CACHE_DIR": str(work / "evalkit_cache")}
    # the same OpenMP setting for both: evalkit's hf backend defaults to passive waits (spinning threads
    # cost 5-7x the CPU on shared cores); lm-eval would otherwise spin, and lose for that reason alone
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if args.threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(args.threads)
    lm_wall = timed([str(LM_EVAL), "--model", "hf", "--model_args", f"pretrained={MODEL_DIR},dtype=float32",
                     "--tasks", "arc_challenge_local", "--include_path", str(work / "tasks"), "--device", "cpu",
                     "--batch_size", str(args.batch_size), "--log_samples", "--output_path", str(work / "lm_eval")],
                    env)
    ek_cmd = [sys.executable, "-m", "evalkit", "run", "--model", f"hf:{MODEL_DIR}", "--benchmark", "arc_challenge",
              "--data-dir", str(DATA), "--dtype", "float32", "--device", "cpu", "--batch-size", str(args.batch_size),
              "--out", str(work / "evalkit"), "--no-cache", "-q"]
    if args.limit is not None:
        ek_cmd += ["--limit", str(args.limit)]
    ek_wall = timed(ek_cmd, env)

    theirs, ours = lm_eval_rows(work / "lm_eval"), evalkit_rows(work / "evalkit")
    assert set(theirs) == set(ours) == set(ids), "the two runs scored different items"
    worst, n_choices, acc_diff, norm_diff = 0.0, 0, 0, 0
    for item in ids:
        a, b = theirs[item], ours[item]
        assert len(a["logliks"]) == len(b["logliks"]), f"{item}: different numbers of choices"
        worst = max([worst, *(abs(x - y) for x, y in zip(a["logliks"], b["logliks"]))])
        n_choices += len(a["logliks"])
        acc_diff += a["acc"] != b["acc"]
        norm_diff += a["acc_norm"] != b["acc_norm"]
    n = len(ids)
    summary = {
        "items": n, "choices": n_choices, "batch_size": args.batch_size, "threads": args.threads,
        "max_abs_loglik_diff": worst, "within_tolerance": worst <= TOLERANCE,
        "acc_mismatches": acc_diff, "acc_norm_mismatches": norm_diff,
        "lm_eval": {"acc": sum(theirs[i]["acc"] for i in ids) / n, "acc_norm": sum(theirs[i]["acc_norm"] for i in ids) / n,
                    "wall_s": round(lm_wall, 1)},
        "evalkit": {"acc": sum(ours[i]["acc"] for i in ids) / n, "acc_norm": sum(ours[i]["acc_norm"] for i in ids) / n,
                    "wall_s": round(ek_wall, 1)},
        "wall_ratio_evalkit_over_lm_eval": round(ek_wall / lm_wall, 3),
        "runs": str(work),
    }
    print(json.dumps(summary, indent=2))
    (work / "parity.json").write_text(json.dumps(summary, indent=2))
    ok = summary["within_tolerance"] and not acc_diff and not norm_diff
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
