"""`--executor ray` against the local executor, measured in this one script on a two-node Ray cluster on
127.0.0.1 (one CPU per node) that it starts and stops:

    python bench/ray_scaling.py --data-dir ../shared/data

1. MBPP's reference solutions (499: Mbpp/123 alone takes seconds) through the sandbox: local (1 worker) vs the cluster on 1 and 2 nodes.
2. A tiny random hf model (evalkit/testing/tiny_model.py) on 2,000 log-likelihood requests: local (1 torch
   thread) vs 1 and 2 replicas; "answering" excludes the replicas' start-up (actor + model load) until the
   first was ready. On the tiny model the work (~2 s) is shorter than a replica's start-up, so a second
   replica cannot help; ``--hf-model hf:embedded`` (SmolLM2-135M) makes the same 2,000 requests real work.
3. The fake OpenAI server through the global limiter: 1,000 requests at --rpm 3000 across 2 workers; the
   busiest 1-second window is counted at the server; ideal = 999 gaps of 60/3000 s + one latency.
4. Resume on another worker count: a 2-worker run interrupted after 120 of 300 answers, then 1 worker on the
   same journal: calls repeated = calls in the second run - requests not yet journaled (must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _execute(executor: Any, requests: list[Any], progress: Any = None) -> tuple[list[Any], float]:
    async def go() -> list[Any]:
        return await executor.run(requests, progress)  # type: ignore[no-any-return]

    started = time.perf_counter()
    outcomes = asyncio.run(go())
    return outcomes, time.perf_counter() - started


def sandbox_part(data_dir: Path, address: str) -> dict[str, Any]:
    from evalkit.config import RunConfig
    from evalkit.sandbox import Sandbox
    from evalkit.sandbox.ray_pool import RaySandbox
    from evalkit.tasks import load_task

    task = load_task("mbpp", data_dir, config=RunConfig(allow_code_execution=True))
    samples = [s for s in task.samples if s.id != "Mbpp/123"]  # several CPU seconds alone (see tests)
    programs = [task.kind.program(s, s.target)[0] for s in samples]
    limits = task.kind.limits
    timings: dict[str, Any] = {"programs": len(programs)}
    with Sandbox(limits, workers=1) as local:
        started = time.perf_counter()
        verdicts = local.run_many(programs)
        timings["local_1"] = time.perf_counter() - started
    timings["local_passed"] = sum(v.passed for v in verdicts)
    for nodes in (1, 2):
        started = time.perf_counter()
        verdicts = RaySandbox(limits, address, max_nodes=nodes).run_many(programs)
        timings[f"ray_{nodes}"] = time.perf_counter() - started
        timings[f"ray_{nodes}_passed"] = sum(v.passed for v in verdicts)
    return timings


def hf_part(address: str, workdir: Path, model_name: str | None) -> dict[str, Any]:
    import torch

    from evalkit.backends.factory import BackendOptions, create_backend
    from evalkit.execution.executor import Executor
    from evalkit.execution.ray_executor import RayExecutor, RaySettings
    from evalkit.execution.store import ResponseStore
    from evalkit.testing.tiny_model import build_tiny_model
    from evalkit.types import LoglikelihoodRequest

    torch.set_num_threads(1)  # the local run gets one core, as each replica does
    model = model_name or f"hf:{build_tiny_model(workdir / 'tiny')}"
    options = BackendOptions(batch_size=16)
    backend = create_backend(model, options)
    requests = [LoglikelihoodRequest(context=f"Question {i}: which planet is number {i % 9}? Answer:",
                                     continuation=choice) for i in range(500) for choice in (" A", " B", " C", " D")]
    timings: dict[str, Any] = {"model": model_name or "tiny", "requests": len(requests)}
    local, timings["local_1"] = _execute(Executor(backend, ResponseStore(workdir / "local.sqlite")), requests)
    for replicas in (1, 2):
        executor = RayExecutor(backend, ResponseStore(workdir / f"ray{replicas}.sqlite"), None,
                               RaySettings(model, options, address, replicas=replicas))
        outcomes, wall = _execute(executor, requests)
        stats = executor.stats.as_dict()
        timings[f"ray_{replicas}"] = wall
        timings[f"ray_{replicas}_answering"] = wall - float(stats["startup_seconds"])
        timings[f"ray_{replicas}_max_abs_diff"] = max(abs(a.result.logprob - b.result.logprob)
                                                      for a, b in zip(local, outcomes))
    return timings


def api_part(address: str, workdir: Path) -> dict[str, Any]:
    from evalkit.backends.factory import BackendOptions
    from evalkit.backends.openai_api import OpenAIBackend
    from evalkit.execution.ray_executor import RayExecutor, RaySettings
    from evalkit.execution.store import ResponseStore
    from evalkit.testing.ray_cluster import busiest_window
    from evalkit.testing.server import start_fake_server
    from evalkit.types import GenerateRequest

    latency, rpm, n = 0.1, 3000, 1000
    server = start_fake_server("--latency", str(latency))
    try:
        options = BackendOptions(base_url=server.base_url)
        requests = [GenerateRequest(messages=(("user", f"question {i}"),), max_tokens=8) for i in range(n)]
        executor = RayExecutor(OpenAIBackend("fake", base_url=server.base_url), ResponseStore(workdir / "api.sqlite"),
                               None, RaySettings("openai:fake", options, address, replicas=2), concurrency=32,
                               requests_per_minute=rpm)
        outcomes, wall = _execute(executor, requests)
        arrivals = server.arrivals()
        stats = executor.stats.as_dict()
    finally:
        server.stop()
    ideal = (n - 1) * 60 / rpm + latency
    span = max(arrivals) - min(arrivals) + latency
    return {"requests": n, "answered": sum(o.result is not None for o in outcomes), "rpm": rpm,
            "limit_per_second": rpm / 60, "busiest_second": busiest_window(arrivals), "ideal": ideal,
            "span": span, "wall": wall, "startup": stats["startup_seconds"], "nodes": stats["nodes"]}


def resume_part(address: str, workdir: Path) -> dict[str, Any]:
    from evalkit.backends.factory import BackendOptions
    from evalkit.backends.openai_api import OpenAIBackend
    from evalkit.execution.ray_executor import RayExecutor, RaySettings
    from evalkit.execution.store import ResponseStore
    from evalkit.testing.server import start_fake_server
    from evalkit.types import GenerateRequest

    n = 300
    server = start_fake_server("--latency", "0.1")
    try:
        options = BackendOptions(base_url=server.base_url)
        requests = [GenerateRequest(messages=(("user", f"resume {i}"),), max_tokens=8) for i in range(n)]
        journal_path = workdir / "resume.sqlite"

        async def interrupted() -> None:
            executor = RayExecutor(OpenAIBackend("fake", base_url=server.base_url), ResponseStore(journal_path), None,
                                   RaySettings("openai:fake", options, address, replicas=2), concurrency=8)
            done = [0]
            task = asyncio.ensure_future(executor.run(requests, lambda k, t, e: done.__setitem__(0, done[0] + k)))
            while done[0] < 120:
                await asyncio.sleep(0.05)
            task.cancel()  # the driver stops (Ctrl-C): workers end, in-flight answers are lost
            with contextlib.suppress(asyncio.CancelledError):
                await task

        asyncio.run(interrupted())
        time.sleep(2)  # let the ended workers' last requests land before counting afresh
        journaled = len(ResponseStore(journal_path))
        server.reset()
        executor = RayExecutor(OpenAIBackend("fake", base_url=server.base_url), ResponseStore(journal_path), None,
                               RaySettings("openai:fake", options, address, replicas=1), concurrency=8)
        outcomes, _ = _execute(executor, requests)
        second = server.stats()["requests"]
    finally:
        server.stop()
    return {"requests": n, "journaled_before": journaled, "second_run_calls": second,
            "repeated": second - (n - journaled), "answered": sum(o.result is not None for o in outcomes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: sandbox,hf,api,resume")
    parser.add_argument("--hf-model", default=None, help="the hf part's model (default: a tiny random one), e.g. hf:embedded")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    from evalkit.testing.ray_cluster import LocalCluster

    cluster = LocalCluster(nodes=2, cpus_per_node=1, env={"PYTHONPATH": str(REPO)})
    started = time.perf_counter()
    cluster.start()
    os.environ.update(cluster.client_env)
    report: dict[str, Any] = {"cluster_start_seconds": round(time.perf_counter() - started, 1)}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            parts = {"sandbox": lambda: sandbox_part(args.data_dir, cluster.address),
                     "hf": lambda: hf_part(cluster.address, workdir, args.hf_model), "api": lambda: api_part(cluster.address, workdir),
                     "resume": lambda: resume_part(cluster.address, workdir)}
            for name, part in parts.items():
                if name not in skip:
                    report[name] = part()
                    print(name, json.dumps(report[name]), flush=True)
    finally:
        import ray

        ray.shutdown()
        cluster.stop()
    print_summary(report)


def print_summary(report: dict[str, Any]) -> None:
    print("\n| what | local (1 core) | ray, 1 worker | ray, 2 workers | overhead at 1 worker | speed-up 1→2 (efficiency) |")
    print("|---|---|---|---|---|---|")
    for name, label, key in (("sandbox", "MBPP reference solutions, sandbox", ""),
                             ("hf", f"{report.get('hf', {}).get('model')} hf, 2,000 log-likelihoods (answering)",
                              "_answering")):
        if name not in report:
            continue
        r = report[name]
        one, two = r[f"ray_1{key}"], r[f"ray_2{key}"]
        print(f"| {label} | {r['local_1']:.1f} s | {one:.1f} s | {two:.1f} s | {one / r['local_1'] - 1:+.0%} | "
              f"{one / two:.2f}× ({one / two / 2:.0%}) |")
    if "hf" in report:
        r = report["hf"]
        print(f"\nhf with replica start-up: 1 replica {r['ray_1']:.1f} s, 2 replicas {r['ray_2']:.1f} s; "
              f"largest |Δ log-likelihood| vs local {max(r['ray_1_max_abs_diff'], r['ray_2_max_abs_diff']):.1e}")
    if "api" in report:
        r = report["api"]
        print(f"API: {r['answered']}/{r['requests']} at --rpm {r['rpm']} on 2 workers ({r['nodes']} nodes): busiest "
              f"second {r['busiest_second']} (limit {r['limit_per_second']:g}); span {r['span']:.1f} s vs ideal "
              f"{r['ideal']:.1f} s ({r['span'] / r['ideal']:.2f}×); wall with start-up {r['wall']:.1f} s")
    if "resume" in report:
        r = report["resume"]
        print(f"resume: {r['journaled_before']}/{r['requests']} journaled by 2 workers; 1 worker then made "
              f"{r['second_run_calls']} calls: {r['repeated']} repeated; {r['answered']} answered")


if __name__ == "__main__":
    main()
