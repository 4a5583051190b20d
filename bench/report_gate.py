"""Time `evalkit report` over 10 runs × 6 benchmarks × 1,000 samples and `evalkit gate` on two of them.

Targets (issue 9): report < 10 s and < 15 MB; gate < 5 s. The runs are synthetic but their text is
real: prompts are GSM8K / MATH-500 / ARC / MMLU / MBPP items from ../shared/data and outputs are the
datasets' own worked solutions (altered when the simulated model is wrong), so sizes and compression
ratios are those of real runs. Each timing is the median of ``--repeat`` CLI invocations (a fresh
process, as CI runs it), next to the "ideal": the time to merely json-parse the samples those commands
must read.

    python bench/report_gate.py [--data-dir ../shared/data] [--runs 10] [--samples 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from evalkit.testing.synth_runs import BenchmarkInfo, write_run

REPO = Path(__file__).resolve().parents[1]


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _items(data: Path, name: str, n: int) -> list[tuple[str, str, str]]:
    """(prompt, reference output, target) triples, cycled to ``n``."""
    if name in ("gsm8k", "gsm8k_socratic"):
        rows = _jsonl(data / "gsm8k" / ("test.jsonl" if name == "gsm8k" else "test_socratic.jsonl"))
        items = [(r["question"], r["answer"], r["answer"].split("####")[-1].strip()) for r in rows]
    elif name == "math500":
        items = [(r["problem"], r["solution"], r["answer"]) for r in _jsonl(data / "math500" / "test.jsonl")]
    elif name == "arc_challenge":
        items = []
        for r in _jsonl(data / "arc_challenge" / "ARC-Challenge-Test.jsonl"):
            choices = "\n".join(f"{c['label']}. {c['text']}" for c in r["question"]["choices"])
            items.append((f"Question: {r['question']['stem']}\n{choices}\nAnswer:", f"The answer is {r['answerKey']}.",
                          r["answerKey"]))
    elif name == "mmlu":
        items = []
        for file in sorted((data / "mmlu" / "test").glob("*.csv")):
            with open(file, encoding="utf-8") as handle:
                for r in csv.DictReader(handle):
                    choices = "\n".join(f"{'ABCD'[k]}. {r[f'choice{k}']}" for k in range(4))
                    letter = "ABCD"[int(r["answer"])]
                    items.append((f"{r['question']}\n{choices}\nAnswer:", f"The answer is {letter}.", letter))
            if len(items) >= n:
                break
    else:  # mbpp
        items = [(r["text"] + "\n" + "\n".join(r["test_list"]), r["code"], r["test_list"][0])
                 for r in _jsonl(data / "mbpp" / "mbpp.jsonl")]
    return [items[i % len(items)] for i in range(n)]


BENCHMARKS = {"gsm8k": "reasoning", "gsm8k_socratic": "reasoning", "math500": "reasoning",
              "arc_challenge": "knowledge", "mmlu": "knowledge", "mbpp": "coding"}


def build(root: Path, data: Path, runs: int, samples: int) -> list[Path]:
    rng = np.random.default_rng(0)
    items = {name: _items(data, name, samples) for name in BENCHMARKS}
    info = {name: BenchmarkInfo(category=cat) for name, cat in BENCHMARKS.items()}
    easiness = {name: rng.beta(2, 1.5, samples) for name in BENCHMARKS}
    models = [f"model-{k:02d}" for k in range(runs)]
    paths = []
    for k, model in enumerate(models):
        skill = 0.35 + 0.5 * k / max(1, runs - 1)
        rows = []
        for name, triples in items.items():
            right = rng.random(samples) < np.clip(skill + easiness[name] - 0.5, 0.02, 0.98)
            for i, (prompt, reference, target) in enumerate(triples):
                output = reference if right[i] else reference.rsplit("\n", 1)[0] + f"\nSo the answer is {rng.integers(1000)}."
                if k % 3 == 1:
                    output = "Let's think step by step.\n" + output
                rows.append({"benchmark": name, "id": f"{name}-{i}", "input": f"[user]\n{prompt}", "output": output,
                             "target": target, "scores": {"acc": float(right[i])}})
        judgments = _judgments(rng, models) if k == 0 else []
        paths.append(write_run(root / model, model, rows, info, judgments=judgments))
    return paths


def _judgments(rng: np.random.Generator, models: list[str], prompts: int = 100) -> list[dict]:
    rows = []
    for p in range(prompts):
        for i, a in enumerate(models):
            for b in models[i + 1:]:
                for order in ("ab", "ba"):
                    first, second = (a, b) if order == "ab" else (b, a)
                    winner = a if rng.random() < 0.4 + 0.02 * (models.index(a) - models.index(b)) + 0.2 else b
                    rows.append({"benchmark": "mt_bench", "id": f"q{p}", "judge": "judge", "kind": "pairwise",
                                 "model_a": first, "model_b": second, "order": order,
                                 "verdict": "A" if winner == first else "B", "winner": winner, "valid": True,
                                 "rationale": "..."})
    return rows


def _time(args: list[str], repeat: int) -> tuple[float, subprocess.CompletedProcess[str]]:
    times = []
    proc = None
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "evalkit", *args], capture_output=True, text=True)
        times.append(time.perf_counter() - start)
    assert proc is not None
    return statistics.median(times), proc


def _parse_time(paths: list[Path], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for path in paths:
            with open(path / "samples.jsonl", encoding="utf-8") as handle:
                for line in handle:
                    json.loads(line)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _browser_ready(page: Path) -> str:
    """Seconds until headless Chromium has inflated and listed the samples (when chromium is installed)."""
    import shutil

    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        chromium = None
    if chromium is None:
        return "browser: skipped (needs chromium and playwright)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page()
        start = time.perf_counter()
        tab.goto(page.as_uri())
        tab.wait_for_selector("body[data-samples-ready='1']", timeout=60_000)
        ready = time.perf_counter() - start
        before = tab.text_content("#sample-count")
        tab.fill("#filter-text", "step by step")
        start = time.perf_counter()
        while tab.text_content("#sample-count") == before:
            time.sleep(0.01)
        search = time.perf_counter() - start - 0.15  # minus the input debounce
        browser.close()
    return f"browser: page ready with all samples in {ready:.2f} s; a text search over them {search:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        paths = build(root / "runs", args.data_dir, args.runs, args.samples)
        built = time.perf_counter() - start
        raw = sum((p / "samples.jsonl").stat().st_size for p in paths)
        print(f"built {len(paths)} runs × {len(BENCHMARKS)} benchmarks × {args.samples} samples in {built:.1f} s "
              f"(samples.jsonl total {raw / 1e6:.1f} MB)")
        out = root / "report" / "index.html"
        seconds, proc = _time(["report", *map(str, paths), "--out", str(out)], args.repeat)
        if proc.returncode != 0:
            sys.exit(f"report failed: {proc.stderr}")
        ideal = _parse_time(paths, args.repeat)
        size = out.stat().st_size
        print(f"evalkit report: {seconds:.2f} s (target < 10 s), {size / 1e6:.2f} MB (target < 15 MB); "
              f"json-parsing the samples alone: {ideal:.2f} s → {seconds / ideal:.1f}× the ideal")
        print(_browser_ready(out))
        gate_s, proc = _time(["gate", "--baseline", str(paths[-1]), "--candidate", str(paths[-2])], args.repeat)
        if proc.returncode not in (0, 1):
            sys.exit(f"gate failed: {proc.stderr}")
        ideal = _parse_time(paths[-2:], args.repeat)
        startup, _ = _time(["--help"], args.repeat)
        print(f"evalkit gate: {gate_s:.2f} s (target < 5 s), exit {proc.returncode} ({proc.stdout.strip().splitlines()[-1]}); "
              f"json-parsing both runs alone: {ideal:.2f} s; `evalkit --help` start-up: {startup:.2f} s")


if __name__ == "__main__":
    main()
