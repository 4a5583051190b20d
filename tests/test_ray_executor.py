"""`--executor ray` on a real two-node Ray cluster on 127.0.0.1, started and stopped by this module.

Each node has one CPU and its own custom resource (node0, node1). Tiny hf replicas must give the local
executor's results; the fake OpenAI server sees the global limiter's requests/min hold across both
workers; HumanEval's canonical solutions pass through the sandbox on both nodes; a worker killed with
SIGKILL mid-run, or the whole second node, loses nothing; a driver killed mid-run resumes on another replica
count repeating no call. Stopping the cluster leaves no Ray process and no temporary directory behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")

from evalkit.backends.factory import BackendOptions, create_backend  # noqa: E402
from evalkit.backends.openai_api import OpenAIBackend  # noqa: E402
from evalkit.config import RunConfig  # noqa: E402
from evalkit.errors import BackendError  # noqa: E402
from evalkit.execution.ray_executor import RayExecutor, RaySettings  # noqa: E402
from evalkit.execution.store import ResponseStore  # noqa: E402
from evalkit.runner import run  # noqa: E402
from evalkit.testing.ray_cluster import LocalCluster, busiest_window, processes_naming  # noqa: E402
from evalkit.testing.tiny_model import build_tiny_model  # noqa: E402
from evalkit.types import GenerateRequest, LoglikelihoodRequest  # noqa: E402

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cluster():
    import ray

    nodes = LocalCluster(nodes=2, cpus_per_node=1, env={"PYTHONPATH": str(REPO)}).start()
    saved = {key: os.environ.get(key) for key in nodes.client_env}
    os.environ.update(nodes.client_env)
    try:
        yield nodes
    finally:
        ray.shutdown()
        nodes.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert not processes_naming(nodes.temp_dir), "a Ray process of the test cluster outlived stop()"
    assert not Path(nodes.temp_dir).exists()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def _execute(executor, requests, progress=None):
    async def go():
        try:
            return await executor.run(requests, progress)
        finally:
            await executor.backend.aclose()
    return asyncio.run(go())


def _chat(n: int, max_tokens: int = 8) -> list[GenerateRequest]:
    return [GenerateRequest(messages=(("user", f"question {i}"),), max_tokens=max_tokens) for i in range(n)]


def _settle(server, quiet_for: float = 2.0, timeout: float = 60.0) -> None:
    """Wait until no request has reached the server for ``quiet_for`` seconds (a killed run's workers are gone)."""
    deadline = time.monotonic() + timeout
    last = server.stats()["requests"]
    still = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = server.stats()["requests"]
        if now != last:
            last, still = now, time.monotonic()
        elif time.monotonic() - still >= quiet_for:
            return


def test_hf_replicas_on_both_nodes_give_the_local_results(cluster, tiny_model, tmp_path, data_dir):
    """Through the runner: ARC-Challenge by log-likelihood and GSM8K generations, local vs two replicas."""
    common = dict(model=f"hf:{tiny_model}", benchmarks=["arc_challenge", "gsm8k"], limits={"arc_challenge": 16, "gsm8k": 2},
                  data_dir=data_dir, quiet=True, use_cache=False,
                  backend=BackendOptions(batch_size=8, chat_template=False))
    local = run(RunConfig(out=tmp_path / "local", **common))
    ray_run = run(RunConfig(out=tmp_path / "ray", executor="ray", ray_address=cluster.address, replicas=2, **common))
    manifest = json.loads((tmp_path / "ray" / "manifest.json").read_text())
    execution = manifest["execution"]  # a replica still loading when the other has answered all is not waited for
    assert execution["replicas"] + execution["replicas_unready"] == 2 and execution["replicas_failed"] == 0
    for name in ("arc_challenge", "gsm8k"):
        ours, theirs = local.results["benchmarks"][name], ray_run.results["benchmarks"][name]
        assert {m: v["value"] for m, v in ours["metrics"].items()} == {m: v["value"] for m, v in theirs["metrics"].items()}
    rows = [[json.loads(line) for line in (tmp_path / d / "samples.jsonl").read_text().splitlines()] for d in ("local", "ray")]
    for a, b in zip(*rows):
        assert a["id"] == b["id"] and a["output"] == b["output"]
        if "choice_logliks" in a:  # batch composition differs between shards: float rounding only
            assert b["choice_logliks"] == pytest.approx(a["choice_logliks"], rel=1e-6)


def test_replica_without_resources_is_reported_and_the_others_finish(cluster, tiny_model, tmp_path, capfd):
    options = BackendOptions(batch_size=8)
    backend = create_backend(f"hf:{tiny_model}", options)
    requests = [LoglikelihoodRequest(context=f"Question {i}:", continuation=c) for i in range(30) for c in (" A", " B")]
    executor = RayExecutor(backend, ResponseStore(tmp_path / "j.sqlite"), None,
                           RaySettings(f"hf:{tiny_model}", options, cluster.address, replicas=3, restart_wait=120))
    outcomes = _execute(executor, requests)  # 2 one-CPU nodes: the third replica can never be placed
    assert all(o.result is not None for o in outcomes)
    stats = executor.stats
    missing = stats.replicas_failed + stats.replicas_unready
    assert stats.replicas >= 1 and missing >= 1 and stats.replicas + missing == 3
    lines = [line for line in capfd.readouterr().err.splitlines() if "replica" in line]
    assert len(lines) == missing and all("was not ready when the work ran out" in line or "did not start within" in line
                                         for line in lines), lines


def test_no_replica_loads_is_one_error(cluster, tiny_model, tmp_path):
    copy = tmp_path / "model"
    copy.mkdir()
    for path in tiny_model.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    options = BackendOptions()
    backend = create_backend(f"hf:{copy}", options)
    for path in copy.iterdir():  # the driver has loaded it; the workers will find nothing
        path.unlink()
    executor = RayExecutor(backend, ResponseStore(tmp_path / "j.sqlite"), None,
                           RaySettings(f"hf:{copy}", options, cluster.address, replicas=2))
    with pytest.raises(BackendError, match="no replica of hf:.* loaded on the Ray cluster"):
        _execute(executor, [LoglikelihoodRequest(context="Q:", continuation=" A")])


def test_api_workers_share_one_rate_limit_and_back_off_on_429(cluster, tmp_path, fake_server):
    server = fake_server("--latency", "0.05", "--fault-rate", "0.1", "--faults", "429", "--retry-after", "0.5")
    options = BackendOptions(base_url=server.base_url)
    executor = RayExecutor(OpenAIBackend("fake", base_url=server.base_url), ResponseStore(tmp_path / "j.sqlite"), None,
                           RaySettings("openai:fake", options, cluster.address, replicas=2),
                           concurrency=16, requests_per_minute=1200)
    outcomes = _execute(executor, _chat(120))
    assert all(o.result is not None for o in outcomes)
    assert executor.stats.replicas == 2 and executor.stats.rate_limited > 0  # two workers, one limit
    arrivals = server.arrivals()
    assert busiest_window(arrivals) <= 20  # 1200/min: never more than 20 in any second, across both workers
    assert len(arrivals) == server.stats()["requests"] == executor.stats.model_calls


def _two_api_workers(cluster, server, tmp_path: Path, **settings) -> tuple[RayExecutor, ResponseStore]:
    """Two API workers on the fake server at concurrency 8, and the journal they answer into."""
    journal = ResponseStore(tmp_path / "j.sqlite")
    executor = RayExecutor(OpenAIBackend("fake", base_url=server.base_url), journal, None,
                           RaySettings("openai:fake", BackendOptions(base_url=server.base_url), cluster.address,
                                       replicas=2, **settings), concurrency=8)
    return executor, journal


def _signal_first_worker(executor: RayExecutor, signum: int, after: int = 40):
    """A progress hook that counts answers and sends ``signum`` to the first loaded worker at the ``after``-th;
    returns (answers counted, pids signalled, the hook)."""
    counted: list[int] = []
    signalled: list[int] = []

    def progress(n: int, tokens: int, errors: int) -> None:
        counted.append(n)
        if sum(counted) >= after and not signalled:
            signalled.append(executor.loaded[0].pid)
            os.kill(signalled[0], signum)

    return counted, signalled, progress


@pytest.mark.timeout(180)
def test_worker_killed_mid_run_loses_nothing(cluster, tmp_path, fake_server):
    server = fake_server("--latency", "0.2")
    executor, journal = _two_api_workers(cluster, server, tmp_path)
    counted, killed, progress = _signal_first_worker(executor, signal.SIGKILL)
    requests = _chat(200)
    outcomes = _execute(executor, requests, progress)
    assert killed and all(o.result is not None for o in outcomes)
    assert sum(counted) == 200 and len(journal) == 200  # each request counted and journaled once
    assert executor.stats.shards_redone >= 1
    assert server.stats()["completed"] >= 200  # the lost worker's in-flight calls were asked again


def test_node_killed_mid_run_loses_nothing(cluster, tmp_path, fake_server):
    """SIGKILL of the second node (its raylet and every worker on it) while a worker there has a shard out."""
    import ray

    server = fake_server("--latency", "0.2")
    placement = ({"node0": 0.01}, {"node1": 0.01})  # one worker on each node; the second cannot come back
    executor, journal = _two_api_workers(cluster, server, tmp_path, restart_wait=60, worker_resources=placement,
                                         shard_timeout=15)
    counted: list[int] = []
    killed: list[str] = []

    def progress(n: int, tokens: int, errors: int) -> None:
        counted.append(n)
        if sum(counted) < 40 or killed:
            return
        second = {node["NodeID"] for node in ray.nodes() if node["Alive"] and "node1" in node["Resources"]}
        if any(worker.node_id in second for worker in executor.loaded):  # work is placed there: take it down
            killed.extend(second)
            cluster.kill_node(1)

    try:
        outcomes = _execute(executor, _chat(200), progress)
        assert killed, f"no worker ran on the second node: {executor.loaded}"
        assert all(o.result is not None for o in outcomes)
        assert sum(counted) == 200 and len(journal) == 200  # each request counted and journaled once
        assert executor.stats.shards_redone >= 1  # the lost node's shards were handed to the other worker
    finally:
        if killed:
            cluster.restart_node(1)  # the other tests expect two nodes


def test_worker_that_hangs_without_dying_has_its_shard_redone(cluster, tmp_path, fake_server):
    """SIGSTOP of a worker mid-shard: it neither answers nor dies; after the shard timeout it is killed (Ray
    restarts it) and its unanswered keys go to the other worker. Each request is answered and journaled once."""
    server = fake_server("--latency", "0.2")
    executor, journal = _two_api_workers(cluster, server, tmp_path, shard_timeout=5)
    counted, stopped, progress = _signal_first_worker(executor, signal.SIGSTOP)
    try:
        outcomes = _execute(executor, _chat(200), progress)
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    assert stopped and all(o.result is not None for o in outcomes)
    assert sum(counted) == 200 and len(journal) == 200  # each request counted and journaled once
    assert executor.stats.shards_stalled >= 1 and executor.stats.shards_redone >= 1


def _journal_rows(path: Path) -> int:
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_resume_after_killing_the_driver_on_another_replica_count(cluster, tmp_path, fake_server, data_dir):
    from helpers import gsm8k_answers

    answers = gsm8k_answers(data_dir, tmp_path / "answers.jsonl")
    server = fake_server("--latency", "0.2", "--answers", str(answers))
    out = tmp_path / "run"
    args = [sys.executable, "-m", "evalkit", "run", "--model", "openai:fake", "--base-url", server.base_url,
            "--benchmark", "gsm8k", "--limit", "120", "--data-dir", str(data_dir), "--out", str(out), "--no-cache",
            "-q", "--executor", "ray", "--ray-address", cluster.address, "--concurrency", "4"]
    env = {**os.environ, **cluster.client_env}
    first = subprocess.Popen([*args, "--replicas", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _journal_rows(out / "journal.sqlite") < 30 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    _settle(server)
    done = _journal_rows(out / "journal.sqlite")
    assert 30 <= done < 120
    server.reset()
    second = subprocess.run([*args, "--replicas", "1"], env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert server.stats()["requests"] == 120 - done  # nothing journaled was asked again
    results = json.loads((out / "results.json").read_text())["benchmarks"]["gsm8k"]
    assert results["n"] == 120 and results["n_errors"] == 0 and results["metrics"]["exact_match_strict"]["value"] == 1.0


def test_max_cost_on_the_cluster_stops_within_one_request_and_resumes(cluster, tmp_path, fake_server, data_dir):
    """--max-cost under --executor ray: same refusal, stop (exit 3) and resume as a local run; the spend is
    checked against the server's own request log priced by hand, never against evalkit's numbers."""
    from test_cost import PRICES, _expected, _price_file

    prices = _price_file(tmp_path, **{"acme-1": PRICES})
    server = fake_server("--latency", "0.05")
    out, n = tmp_path / "run", 60
    args = [sys.executable, "-m", "evalkit", "run", "--model", "openai:acme-1", "--base-url", server.base_url,
            "--benchmark", "gsm8k", "--limit", str(n), "--data-dir", str(data_dir), "--out", str(out), "--no-cache",
            "-q", "--pricing", str(prices), "--concurrency", "8", "--executor", "ray", "--ray-address", cluster.address,
            "--replicas", "2"]
    env = {**os.environ, **cluster.client_env}
    per_request = 60 * PRICES["output"] / 1e6  # a generous upper bound of one gsm8k request's cost
    budget = 0.002
    stopped = subprocess.run([*args, "--max-cost", str(budget), "--force"], env=env, capture_output=True, text=True,
                             timeout=300)
    assert stopped.returncode == 3, stopped.stderr
    assert "budget reached" in stopped.stderr and "resume" in stopped.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "budget_reached"
    spent, answered = manifest["cost"]["budget"]["spent_usd"], server.stats()["completed"]
    assert 0 < answered < n
    assert spent == pytest.approx(sum(_expected(server.bodies())), abs=1e-9)  # every answered call is charged
    assert spent <= budget + 1e-12 and budget - spent < max(max(_expected(server.bodies())), per_request)

    resumed = subprocess.run([*args, "--max-cost", "1", "--force"], env=env, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert server.stats()["completed"] == n  # nothing asked twice
    final = json.loads((out / "manifest.json").read_text())
    assert final["status"] == "complete"
    assert final["cost"]["budget"]["spent_usd"] == pytest.approx(sum(_expected(server.bodies())), abs=1e-9)


def test_humaneval_canonical_solutions_in_the_sandbox_on_both_nodes(cluster, tmp_path, data_dir):
    source = data_dir / "humaneval" / "HumanEval.jsonl.gz"
    if not source.exists():
        pytest.skip(f"{source} not found")
    with gzip.open(source, "rt") as handle:
        problems = [json.loads(line) for line in handle if line.strip()]
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text("".join(json.dumps({"id": p["task_id"], "output": p["canonical_solution"]}) + "\n"
                                   for p in problems))
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "evalkit", "run", "--model", f"predictions:{predictions}",
                           "--benchmark", "humaneval", "--data-dir", str(data_dir), "--out", str(out), "-q",
                           "--allow-code-execution", "--executor", "ray", "--ray-address", cluster.address],
                          env={**os.environ, **cluster.client_env}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    entry = json.loads((out / "results.json").read_text())["benchmarks"]["humaneval"]
    assert entry["n"] == 164 and entry["metrics"]["pass@1"]["value"] == 1.0
    nodes = entry["sandbox"]["nodes"]
    assert len(nodes) == 2 and all(n["network_isolation"] in ("yes", "no") for n in nodes.values())
