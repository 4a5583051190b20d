"""``evaluate(model, benchmarks, **options)``: a run of the runner from Python, as ``evalkit run`` makes one.

Options are the names of ``RunConfig`` fields (``limit``, ``data_dir``, ``out``, ``judges``, ``seed``, …)
and of ``BackendOptions`` fields (``base_url``, ``temperature``, ``dtype``, ``batch_size``, …); an unknown
name is a ``ConfigError`` naming it. The sync call works where an event loop is already running (a
notebook): the run then goes to a worker thread with its own loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import fields
from pathlib import Path
from typing import Any

from evalkit.api._results import Results, load_run
from evalkit.config import BackendOptions, RunConfig
from evalkit.errors import ConfigError
from evalkit.runner import Runner
from evalkit.specs.strict import did_you_mean

_RUN_FIELDS = {f.name for f in fields(RunConfig)} - {"model", "benchmarks", "backend"}
_BACKEND_FIELDS = {f.name for f in fields(BackendOptions)}
_PATHS = ("out", "data_dir")


def run_config(model: str | None, benchmarks: str | list[str], **options: Any) -> RunConfig:
    """The RunConfig ``evaluate`` runs: unknown option names are refused, paths may be strings."""
    names = [benchmarks] if isinstance(benchmarks, str) else list(benchmarks)
    run: dict[str, Any] = {"quiet": True}  # no progress bars in a notebook unless asked for
    backend: dict[str, Any] = {}
    for name, value in options.items():
        if name in _RUN_FIELDS:
            run[name] = Path(value).expanduser() if name in _PATHS and value is not None else value
        elif name in _BACKEND_FIELDS:
            backend[name] = value
        else:
            allowed = _RUN_FIELDS | _BACKEND_FIELDS
            raise ConfigError(f"evaluate(): unknown option {name!r}{did_you_mean(name, allowed)}; "
                              f"allowed: {', '.join(sorted(allowed))}")
    if "timeout" in run:  # one timeout for the executor and the backend's own client
        backend.setdefault("timeout", run["timeout"])
    return RunConfig(model=model, benchmarks=names, backend=BackendOptions(**backend), **run)


async def evaluate_async(model: str | None, benchmarks: str | list[str], **options: Any) -> Results:
    """Evaluate ``model`` (``PROVIDER:NAME``, e.g. ``openai:gpt-4o-mini``, ``hf:./model``,
    ``predictions:answers.jsonl``; None: the embedded SmolLM2) on ``benchmarks``; await the Results."""
    summary = await Runner(run_config(model, benchmarks, **options)).run()
    return load_run(summary.out)


def evaluate(model: str | None, benchmarks: str | list[str], **options: Any) -> Results:
    """As ``evaluate_async``, blocking. Inside a running event loop (Jupyter) the run goes to a worker
    thread with a loop of its own, so it never clashes with the caller's."""
    config = run_config(model, benchmarks, **options)
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no loop here: the common case
        return load_run(asyncio.run(Runner(config).run()).out)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="evalkit") as pool:
        summary = pool.submit(asyncio.run, Runner(config).run()).result()
    return load_run(summary.out)
