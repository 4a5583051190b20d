"""Adaptive vs fixed concurrency against a server that enforces a requests/min limit with 429s (issue 18).

    python bench/adaptive_concurrency.py [--n 600] [--rpm 600] [--concurrency 64] [--latency 0.5]
    python bench/adaptive_concurrency.py --n 1000 --rpm 0 --latency 0.2 \
        --server-args="--fault-rate 0.1 --faults 429,500 --retry-after 0.5 --seed 1"   # stray 429s, no limit

The fake server refills a token bucket at --rpm (one second's worth of burst) and answers 429 with
Retry-After past it. For each mode a full `evalkit run` subprocess (start-up included, cache off) answers
--n GSM8K requests; the ideal wall time is N / (rpm / 60). Prints wall time (the whole process, start-up
included, and the requests alone: manifest.json's execution.wall_seconds) against the ideal, the share
of requests the server answered 429, samples lost, and the lowest and final concurrency the run used.
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evalkit.testing.server import start_fake_server  # noqa: E402


def run_mode(mode: str, args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    limit = ["--rpm", str(args.rpm), "--burst-seconds", "1"] if args.rpm else []
    server = start_fake_server("--latency", str(args.latency), *limit, *args.server_args.split())
    out = workdir / mode
    try:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "evalkit", "run", "--model", "openai:fake", "--base-url", server.base_url,
             "--benchmark", "gsm8k", "--limit", str(args.n), "--data-dir", str(args.data_dir), "--out", str(out),
             "--concurrency", str(args.concurrency), "--max-retries", "20", "--no-cache", "-q",
             "--max-error-rate", "1", *(["--fixed-concurrency"] if mode == "fixed" else [])],
            capture_output=True, text=True, env={**os.environ, "EVALKIT_CACHE_DIR": str(workdir / "cache")})
        wall = time.perf_counter() - start
        stats = server.stats()
    finally:
        server.stop()
    if proc.returncode != 0:
        raise SystemExit(f"evalkit failed: {proc.stderr}")
    results = json.loads((out / "results.json").read_text())["benchmarks"]["gsm8k"]
    manifest = json.loads((out / "manifest.json").read_text())
    concurrency = manifest["concurrency"]["evaluating"]
    return {"wall": wall, "exec": manifest["execution"]["wall_seconds"], "share_429": stats["rate_limited"] / stats["requests"], "requests": stats["requests"],
            "lost": results["n_errors"] + (args.n - results["n"]), "min": concurrency["min_concurrency"],
            "final": concurrency["final_concurrency"], "counted_429": concurrency["rate_limited"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=600)
    parser.add_argument("--rpm", type=float, default=600)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--modes", default="adaptive,fixed")
    parser.add_argument("--server-args", default="", help="more fake-server flags, e.g. random faults")
    args = parser.parse_args()
    # with --rpm 0 (no rate limit) the ideal is the latency-bound N × latency / concurrency
    ideal = args.n / (args.rpm / 60) if args.rpm else args.n * args.latency / args.concurrency
    print(f"N={args.n} rpm={args.rpm:g} {args.server_args} concurrency={args.concurrency} latency={args.latency}s ideal={ideal:.1f}s")
    print(f"{'mode':<9} {'wall':>8} {'x ideal':>8} {'requests':>9} {'x ideal':>8} {'429 share':>10} {'HTTP requests':>14} "
          f"{'lost':>5} {'min conc':>9} {'final':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            r = run_mode(mode, args, Path(tmp))
            print(f"{mode:<9} {r['wall']:>7.1f}s {r['wall'] / ideal:>8.2f} {r['exec']:>8.1f}s {r['exec'] / ideal:>8.2f} "
                  f"{r['share_429']:>10.1%} {r['requests']:>14.0f} "
                  f"{r['lost']:>5.0f} {r['min']:>9.0f} {r['final']:>6.0f}", flush=True)


if __name__ == "__main__":
    main()
