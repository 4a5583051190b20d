"""--max-cost stops within one request's cost, and a resumed run costs what an unbudgeted one does (issue 18).

    python bench/budget_resume.py [--n 500] [--concurrency 32] [--share 0.5]

Against the fake server (50 ms latency) with gpt-4o-mini's shipped price: an unbudgeted GSM8K run gives
the reference cost; the same run with --max-cost = share × reference --force stops (exit 3); the gap to
the budget is compared with the dearest single request of the reference run; the same command with a
budget above the reference resumes. Prints the totals and the server's count of calls answered.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evalkit.testing.server import start_fake_server  # noqa: E402


def run(command: list[str], env: dict[str, str], *extra: str) -> int:
    return subprocess.run([*command, *extra], capture_output=True, text=True, env=env).returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--share", type=float, default=0.5)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "EVALKIT_CACHE_DIR": str(Path(tmp) / "cache")}

        def command(server_url: str, out: Path) -> list[str]:
            return [sys.executable, "-m", "evalkit", "run", "--model", "openai:gpt-4o-mini", "--base-url", server_url,
                    "--benchmark", "gsm8k", "--limit", str(args.n), "--data-dir", str(args.data_dir), "--out", str(out),
                    "--concurrency", str(args.concurrency), "--no-cache", "-q"]

        ref_server = start_fake_server("--latency", "0.05")
        try:
            assert run(command(ref_server.base_url, Path(tmp) / "ref"), env) == 0
        finally:
            ref_server.stop()
        reference = json.loads((Path(tmp) / "ref" / "manifest.json").read_text())["cost"]["total_usd"]
        with sqlite3.connect(Path(tmp) / "ref" / "journal.sqlite") as db:
            dearest = db.execute("SELECT MAX(paid_usd) FROM responses").fetchone()[0]
        budget = reference * args.share
        server = start_fake_server("--latency", "0.05")
        out = Path(tmp) / "run"
        try:
            code = run(command(server.base_url, out), env, "--max-cost", f"{budget:.8f}", "--force")
            stopped = json.loads((out / "manifest.json").read_text())
            answered_first = server.stats()["completed"]
            code2 = run(command(server.base_url, out), env, "--max-cost", f"{reference * 2:.8f}", "--force")
            final = json.loads((out / "manifest.json").read_text())
            answered = server.stats()["completed"]
        finally:
            server.stop()
    spent = stopped["cost"]["budget"]["spent_usd"]
    print(f"N={args.n} concurrency={args.concurrency}: unbudgeted run ${reference:.6f}; dearest request ${dearest:.6f}")
    print(f"--max-cost {budget:.6f}: exit {code}, status {stopped['status']}, spent ${spent:.6f} "
          f"(gap {budget - spent:.6f} = {(budget - spent) / dearest:.2f} × the dearest request), {answered_first} calls")
    print(f"resumed with --max-cost {reference * 2:.6f}: exit {code2}, status {final['status']}, run total "
          f"${final['cost']['budget']['spent_usd']:.6f} (unbudgeted ${reference:.6f}); server answered {answered} calls "
          f"for {args.n} requests")


if __name__ == "__main__":
    main()
