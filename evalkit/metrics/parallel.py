"""Chunked process-pool map for per-pair metrics (ROUGE, METEOR, TER statistics).

The same chunk function runs in-process when one worker is chosen, so the parallel and the serial path
give identical results in identical order. Workers are forked, so they inherit what the parent already
loaded (WordNet takes ~5 s to load) and need no ``if __name__ == "__main__"`` guard in a user's script.
Forking a process that runs other threads can deadlock on a lock one of them held, and spawning would
re-import the caller's main module, so where fork is unavailable or other threads run, the work stays
in-process.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

CHUNKS_PER_WORKER = 4


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def resolve_jobs(jobs: int | None, n_items: int, min_items: int) -> int:
    """Workers to use: ``jobs`` when given (≥1), else all CPUs once there is enough work to pay for a pool."""
    if jobs is not None and jobs >= 1:
        return min(jobs, max(1, n_items)) if can_fork() else 1
    if n_items < min_items or not can_fork():
        return 1
    return max(1, min(available_cpus(), n_items // max(1, min_items // 2)))


def can_fork() -> bool:
    return ("fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
            and not multiprocessing.current_process().daemon)


def chunked_map(func: Callable[[list[T]], list[R]], items: Sequence[T], jobs: int | None = None,
                min_items: int = 500) -> list[R]:
    """``func`` over contiguous chunks of ``items`` (a module-level function: it is pickled), concatenated."""
    items = list(items)
    workers = resolve_jobs(jobs, len(items), min_items)
    if workers <= 1:
        return func(items)
    n_chunks = min(len(items), workers * CHUNKS_PER_WORKER)
    bounds = [len(items) * i // n_chunks for i in range(n_chunks + 1)]
    chunks = [items[bounds[i]:bounds[i + 1]] for i in range(n_chunks)]
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        parts = list(pool.map(func, chunks))
    return [result for part in parts for result in part]
