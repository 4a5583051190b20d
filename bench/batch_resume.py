"""A --batch run killed after submission and started again (issue 18): no batch is created twice.

    python bench/batch_resume.py [--n 2000] [--chunk 250] [--delay 5]

Runs `evalkit run --batch` on GSM8K + ARC-Challenge (n/2 each) against the fake server's /v1/files and
/v1/batches, SIGKILLs it as soon as every batch is journaled (before any has completed), starts the
same command again, and prints the server's counts (batches created, lines answered, online requests)
and what landed in the run directory.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evalkit.testing.server import start_fake_server  # noqa: E402


def journaled_batches(journal: Path) -> int:
    try:
        with sqlite3.connect(journal) as db:
            return int(db.execute("SELECT COUNT(*) FROM batches").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--chunk", type=int, default=250)
    parser.add_argument("--delay", type=float, default=5.0)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    expected = -(-args.n // 2 // args.chunk) * 2
    server = start_fake_server("--batch-delay", str(args.delay))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        command = [sys.executable, "-m", "evalkit", "run", "--model", "openai:gpt-4o-mini", "--base-url", server.base_url,
                   "--benchmark", "gsm8k,arc_challenge", "--mode", "generate", "--limit", str(args.n // 2),
                   "--data-dir", str(args.data_dir), "--out", str(out), "--batch", "--batch-chunk", str(args.chunk),
                   "--batch-poll", "1", "--no-cache", "-q", "--max-error-rate", "1"]
        env = {**os.environ, "EVALKIT_CACHE_DIR": str(Path(tmp) / "cache")}
        try:
            start = time.perf_counter()
            first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
            while journaled_batches(out / "journal.sqlite") < expected and first.poll() is None:
                time.sleep(0.05)
            first.send_signal(signal.SIGKILL)
            first.wait()
            killed_at = time.perf_counter() - start
            at_kill = server.stats()
            print(f"killed after {killed_at:.1f}s: {journaled_batches(out / 'journal.sqlite')} batches journaled; "
                  f"server: {at_kill['batches_created']} batches created, {at_kill['batch_lines_answered']} lines answered")
            start = time.perf_counter()
            second = subprocess.run(command, capture_output=True, text=True, env=env)
            wall = time.perf_counter() - start
            if second.returncode != 0:
                raise SystemExit(f"restart failed: {second.stderr}")
            stats = server.stats()
        finally:
            server.stop()
        results = json.loads((out / "results.json").read_text())["benchmarks"]
        landed = sum(r["n"] - r["n_errors"] for r in results.values())
        with sqlite3.connect(out / "journal.sqlite") as db:
            journaled = db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
        cost = json.loads((out / "manifest.json").read_text())["cost"]
        print(f"restart: {wall:.1f}s; server: {stats['batches_created']} batches created (expected {expected}), "
              f"{stats['files_uploaded']} files uploaded, {stats['batch_lines_answered']} lines answered, "
              f"{stats['requests']} online requests")
        print(f"landed: {landed} of {args.n} samples scored without error, {journaled} responses journaled, "
              f"lost {args.n - landed}; cost ${cost['total_usd']:.4f} at the batch price")


if __name__ == "__main__":
    main()
