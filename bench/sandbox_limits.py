"""How fast the sandbox stops hostile programs, as ratios of its own limits (moved here from the tests,
where wall-clock bounds fail under load rather than on a bug).

    python bench/sandbox_limits.py [--repeats 3]

Figures: a fork bomb that catches its errors runs until the wall limit, so its containment time over the
wall limit is the kill overhead (ideal 1.0); a fork bomb under ``max_processes`` is refused at once, so
its time over the wall limit is how early the process limit acts (ideal ≈ 0).
"""

from __future__ import annotations

import argparse
import statistics
import time

from evalkit.sandbox import Limits, Sandbox

CATCHING_BOMB = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
PLAIN_BOMB = "import os\nwhile True:\n    os.fork()"


def timed(limits: Limits, program: str, repeats: int) -> tuple[float, str]:
    walls, kind = [], ""
    for _ in range(repeats):
        with Sandbox(limits, workers=1) as box:
            started = time.monotonic()
            verdict = box.run(program)
            walls.append(time.monotonic() - started)
            kind = verdict.kind
    return statistics.median(walls), kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(Sandbox().isolation().summary())
    wall = 3.0
    seconds, kind = timed(Limits(wall_seconds=wall, cpu_seconds=2, memory_mb=512), CATCHING_BOMB, args.repeats)
    print(f"fork bomb (errors caught), wall limit {wall:g} s: contained in {seconds:.2f} s "
          f"({seconds / wall:.2f}× the limit; verdict {kind})")
    wall = 20.0
    seconds, kind = timed(Limits(wall_seconds=wall, cpu_seconds=10, max_processes=16), PLAIN_BOMB, args.repeats)
    print(f"fork bomb under max_processes=16, wall limit {wall:g} s: stopped in {seconds:.2f} s "
          f"({seconds / wall:.3f}× the limit; verdict {kind})")


if __name__ == "__main__":
    main()
