"""Judging throughput: pairwise with --swap on AlpacaEval's 805 items, concurrency 64, a 200 ms judge.

    python bench/judge_throughput.py [--data-dir ../shared/data] [--latency 0.2] [--concurrency 64]

The candidate's answers come from a predictions file (claude-2.1's AlpacaEval outputs), so only the
judge is called: 2 × 805 requests of AlpacaEval size against the fake OpenAI server answering as the
scripted judge. Ideal time = 2 × 805 × latency / concurrency; the target is within 1.2× of it. A second
run into a new directory (same shared cache) must make zero judge calls. For scale on a loaded machine,
the same 1610 judge requests are also sent straight through evalkit's executor and OpenAI backend
(no judging code around them): the transport floor the judge stage cannot beat.
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

from evalkit.testing.server import start_fake_server


def _run(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "evalkit", *args], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(proc.stderr)
    return time.perf_counter() - started


def transport_floor(base_url: str, data_dir: Path, preds: list[str], concurrency: int, work: Path) -> float:
    """Seconds for the judge's requests through Executor + backend alone (no cache, a fresh journal)."""
    import asyncio

    from evalkit.backends.factory import BackendOptions, create_backend
    from evalkit.config import RunConfig
    from evalkit.execution.executor import Executor
    from evalkit.execution.store import ResponseStore
    from evalkit.kinds.base import Scored
    from evalkit.tasks import load_task

    config = RunConfig(model="openai:floor", benchmarks=["alpaca_eval"], judges=["openai:floor-judge"], judge_swap=True)
    task = load_task("alpaca_eval", data_dir, config=config)
    scored = [Scored(sample=s, prompt="", output=o, scores={}) for s, o in zip(task.samples, preds)]
    requests = [r for reqs in task.kind.judge_requests(scored, "openai:floor-judge") for r in reqs]  # type: ignore[attr-defined]

    async def go() -> float:
        backend = create_backend("openai:floor-judge", BackendOptions(base_url=base_url))
        executor = Executor(backend, ResponseStore(work / "floor.sqlite"), None, concurrency)
        started = time.perf_counter()
        await executor.run(requests)
        await backend.aclose()
        return time.perf_counter() - started

    return asyncio.run(go())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="judge-bench-"))
    outputs = json.loads((args.data_dir / "alpaca_eval/results/claude-2.1/model_outputs.json").read_text())
    preds = work / "preds.jsonl"
    preds.write_text("".join(json.dumps({"id": f"alpaca_eval-{i}", "output": r["output"]}) + "\n"
                             for i, r in enumerate(outputs)))
    env = {**os.environ, "EVALKIT_CACHE_DIR": str(work / "cache"), "BIASED_JUDGE": "p_first=0.6,q_longer=0.3"}
    os.environ["BIASED_JUDGE"] = env["BIASED_JUDGE"]
    server = start_fake_server("--latency", str(args.latency), "--responder", "evalkit.testing.biased_judge:respond")
    try:
        common = ["run", "--model", f"predictions:{preds}", "--benchmark", "alpaca_eval", "--data-dir",
                  str(args.data_dir), "--judge", "openai:bench-judge", "--judge-base-url", server.base_url, "--swap",
                  "--concurrency", str(args.concurrency), "-q"]
        wall = _run([*common, "--out", str(work / "first")], env)
        calls = server.stats()["completed"]
        cached_wall = _run([*common, "--out", str(work / "second")], env)
        cached_calls = server.stats()["completed"] - calls
        floor = transport_floor(server.base_url, args.data_dir, [r["output"] for r in outputs], args.concurrency, work)
    finally:
        server.stop()
    manifest = json.loads((work / "first" / "manifest.json").read_text())
    judge_wall = manifest["execution"]["judges"]["openai:bench-judge"]["wall_seconds"]
    n = len(outputs)
    ideal = 2 * n * args.latency / args.concurrency
    print(f"items {n}, judge calls {calls} (ideal {2 * n}), concurrency {args.concurrency}, latency {args.latency}s")
    print(f"ideal {ideal:.2f} s | judge stage {judge_wall:.2f} s = {judge_wall / ideal:.2f}x ideal "
          f"(target <= 1.2x) | whole command {wall:.2f} s")
    print(f"transport floor (same requests, executor + backend only, same run) {floor:.2f} s = "
          f"{floor / ideal:.2f}x ideal; judge stage / floor = {judge_wall / floor:.2f}")
    print(f"cached re-audit: {cached_calls} judge calls, whole command {cached_wall:.2f} s")


if __name__ == "__main__":
    main()
