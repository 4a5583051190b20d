"""Knowledge/reasoning suite targets (issue 4): MMLU load+render time, and a full `predictions:` scoring pass.

    python bench/suite_load.py [--data-dir ../shared/data] [--repeats 3]

1. Load all of MMLU test (14,042 items) and build every request, 5-shot, log-likelihood mode — what happens
   before the first model call. Target < 5 s. Each repeat runs in a fresh interpreter (imports not
   counted); compared with the floor of merely parsing the 57 CSV files with the csv module.
2. `evalkit run --model predictions:FILE` over gsm8k, gsm8k_cot, bbh, math500, mmlu, arc_challenge,
   truthfulqa_mc1 and truthfulqa_mc2 with gold answers (26,497 samples), as a user runs it (a subprocess,
   start-up included). Target < 30 s on 2 cores. Checks that every metric is 1.0.
Prints medians with wall and CPU seconds (on a shared machine CPU time is the steadier figure).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SUITE = ["gsm8k", "gsm8k_cot", "bbh", "math500", "mmlu", "arc_challenge", "truthfulqa_mc1", "truthfulqa_mc2"]

_LOAD_MMLU = """
import json, sys, time
from pathlib import Path
from evalkit.tasks import load_task
wall, cpu = time.perf_counter(), time.process_time()
task = load_task("mmlu", Path(sys.argv[1]))
loaded = time.perf_counter() - wall
requests = [task.kind.requests(s, "loglikelihood") for s in task.samples]
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "load": loaded,
                  "samples": len(task.samples), "requests": sum(map(len, requests)),
                  "prompt_chars": sum(len(r[0].context) for r in requests)}))
"""

_CSV_FLOOR = """
import csv, json, sys, time
from pathlib import Path
wall = time.perf_counter()
rows = 0
for path in sorted(Path(sys.argv[1], "mmlu").glob("*/*.csv")):
    with open(path, encoding="utf-8", newline="") as handle:
        rows += sum(1 for _ in csv.DictReader(handle))
print(json.dumps({"wall": time.perf_counter() - wall, "rows": rows}))
"""


def _python(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(out.stdout)


def gold_predictions(data_dir: Path, path: Path) -> int:
    """A predictions file with the gold answer of every sample of the suite, built from evalkit's samples."""
    sys.path.insert(0, str(REPO))
    from evalkit.tasks import load_task

    outputs = {"gsm8k": "#### {t}", "gsm8k_cot": "The answer is {t}.", "bbh": "So the answer is {t}.",
               "math500": "$\\boxed{{{t}}}$"}
    n = 0
    with open(path, "w", encoding="utf-8") as handle:
        for name in SUITE:
            for sample in load_task(name, data_dir).samples:
                row: dict = {"benchmark": name, "id": sample.id}
                if name in outputs:
                    row["output"] = outputs[name].format(t=sample.target)
                elif name == "truthfulqa_mc2":
                    row["choice_logliks"] = [0.0 if label else -1000.0 for label in sample.target]
                else:
                    row["choice_logliks"] = [0.0 if i == sample.target else -9.0 for i in range(len(sample.choices))]
                handle.write(json.dumps(row) + "\n")
                n += 1
    return n


def scoring_pass(data_dir: Path, predictions: Path, out: Path) -> dict:
    start = time.perf_counter()
    before = os.times()
    proc = subprocess.run([sys.executable, "-m", "evalkit", "run", "--model", f"predictions:{predictions}",
                           "--benchmark", ",".join(SUITE), "--data-dir", str(data_dir), "--out", str(out), "-q"],
                          capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - start
    after = os.times()
    if proc.returncode != 0:
        raise SystemExit(f"evalkit run failed: {proc.stderr.strip()}")
    results = json.loads((out / "results.json").read_text())["benchmarks"]
    values = [m["value"] for entry in results.values() for m in entry["metrics"].values()]
    return {"wall": wall, "cpu": (after.children_user + after.children_system) - (before.children_user + before.children_system),
            "samples": sum(entry["n"] for entry in results.values()), "all_perfect": all(v == 1.0 for v in values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data_dir = args.data_dir.resolve()
    print(f"cores available: {len(os.sched_getaffinity(0))}; load average: {os.getloadavg()[0]:.1f}")

    loads = [_python(_LOAD_MMLU, str(data_dir)) for _ in range(args.repeats)]
    floors = [_python(_CSV_FLOOR, str(data_dir)) for _ in range(args.repeats)]
    wall = statistics.median(r["wall"] for r in loads)
    floor = statistics.median(r["wall"] for r in floors)
    first = loads[0]
    print(f"\n1. MMLU test, 5-shot, load + render: {first['samples']} samples, {first['requests']} requests, "
          f"{first['prompt_chars'] / 1e6:.1f} M prompt characters")
    print(f"   median wall {wall:.2f} s (load {statistics.median(r['load'] for r in loads):.2f} s), "
          f"CPU {statistics.median(r['cpu'] for r in loads):.2f} s; target < 5 s: "
          f"{'met' if wall < 5 else 'MISSED'} ({wall / 5:.0%} of the budget)")
    print(f"   floor (csv module parsing the 57+57 files only): {floor:.2f} s -> evalkit is {wall / floor:.1f}x the floor")

    with tempfile.TemporaryDirectory() as tmp:
        predictions = Path(tmp) / "gold.jsonl"
        n = gold_predictions(data_dir, predictions)
        runs = [scoring_pass(data_dir, predictions, Path(tmp) / f"run{i}") for i in range(args.repeats)]
    wall = statistics.median(r["wall"] for r in runs)
    print(f"\n2. predictions: scoring pass over {len(SUITE)} specs ({n} samples, start-up included)")
    print(f"   median wall {wall:.2f} s, CPU {statistics.median(r['cpu'] for r in runs):.2f} s; all metrics 1.0: "
          f"{all(r['all_perfect'] for r in runs)}; target < 30 s: {'met' if wall < 30 else 'MISSED'} "
          f"({wall / 30:.0%} of the budget)")


if __name__ == "__main__":
    main()
