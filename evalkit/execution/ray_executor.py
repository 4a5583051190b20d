"""Answer requests on a Ray cluster (``--executor ray``), with the local executor's guarantees.

The driver keeps everything that must be exactly once: the plan, dedupe, the journal and cache
lookups (inherited from ``Executor``), and the journal writes. Workers only answer. The missing keys
go into a queue of small shards (``ShardQueue``); each worker pulls the next shard when it is free and
streams back one answer per request, which the driver writes to the journal before it counts it. A
worker that dies gives back the keys it had not answered; Ray restarts it (its model reloads) and the
other workers carry on meanwhile. Results are keyed by request, never by worker, so a run resumes on
any number of workers.

Why one journal at the driver rather than per-worker journals merged by key: nothing has to be
merged or copied back from the nodes (no shared file system is assumed), a result counts only once
it is durable in the one file resume reads, and the stream is small next to the model's own time
(a few hundred bytes per request).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

from evalkit.backends.base import Backend
from evalkit.backends.factory import BackendOptions
from evalkit.errors import BackendError, EvalkitError
from evalkit.execution.cost import CostMeter, Reservation
from evalkit.execution.executor import NOT_SENT, ExecutionStats, Executor, Outcome, ProgressHook, RetryPolicy
from evalkit.execution.ray_actors import Answer, ApiWorker, ReplicaWorker, WorkerInfo
from evalkit.execution.ray_cluster import alive_nodes, cluster_total, connect, failure_line
from evalkit.execution.ray_limiter import GlobalLimiter
from evalkit.execution.ray_placement import actor_options, check_fits, plan_replica, reserve
from evalkit.execution.shards import ShardQueue
from evalkit.execution.store import ResponseStore
from evalkit.types import Request, Usage


@dataclass(frozen=True)
class RaySettings:
    model: str | None  # as the user wrote it: each worker builds its own backend from it
    options: BackendOptions
    address: str | None = None  # None: auto
    replicas: int | None = None  # None: one per GPU (local models), else one per node
    tokens_per_minute: float | None = None
    shard_size: int | None = None  # None: 4 batches for local models, 8 requests for APIs
    restart_wait: float = 300.0  # seconds a lost worker may take to come back before it is given up
    # custom resources worker i must have (cycled; e.g. ({"node0": 0.01}, {"node1": 0.01})): a hard placement
    # in place of the default soft preference for node i mod N
    worker_resources: tuple[dict[str, float], ...] = ()
    # seconds a shard may go without streaming an answer before its worker counts as hung: the worker is
    # killed (Ray restarts it) and the shard's unanswered keys go to the next free worker. None: 600 s for
    # API workers (each call times out on its own well before; twice --timeout when that is longer), no limit
    # for local models (a batch of long generations on a slow device has no safe bound)
    shard_timeout: float | None = None


@dataclass
class RayExecutionStats(ExecutionStats):
    replicas: int = 0  # workers that loaded
    replicas_failed: int = 0
    replicas_unready: int = 0  # still loading (or unplaceable) when the other workers had answered everything
    nodes: int = 0  # distinct nodes the loaded workers ran on
    shards: int = 0
    shards_redone: int = 0  # shards given back by a lost worker
    shards_stalled: int = 0  # shards whose worker streamed nothing for --shard-timeout (it was restarted)
    rate_limited: int = 0  # 429s the global limiter was told of
    startup_seconds: float = 0.0  # from the start of a run until its first worker was ready


@dataclass
class _Worker:
    handle: Any
    label: str
    ready: asyncio.Task[WorkerInfo | None] | None = None
    info: WorkerInfo | None = None  # the process now serving (a restart brings a new one)
    retired: bool = False


class RayExecutor(Executor):
    def __init__(self, backend: Backend, journal: ResponseStore, cache: ResponseStore | None, settings: RaySettings,
                 concurrency: int = 32, requests_per_minute: float | None = None,
                 policy: RetryPolicy | None = None, meter: CostMeter | None = None) -> None:
        # the global limiter actor adapts concurrency for the cluster (AIMD on 429s), not the base controller
        super().__init__(backend, journal, cache, concurrency, requests_per_minute, policy, meter=meter, adaptive=False)
        self.settings = settings
        self.requests_per_minute = requests_per_minute
        self.ray_stats = RayExecutionStats()  # the base class's counters plus the cluster's
        self.stats = self.ray_stats
        self.loaded: list[WorkerInfo] = []  # the workers that loaded (node and process of each)
        self._failures: list[str] = []
        self._limiter: Any = None
        self._started = 0.0
        self._restarts: dict[int, asyncio.Future[WorkerInfo | None]] = {}
        self._held: dict[str, Reservation] = {}  # budget reservations of the requests out with a worker
        self._settled = asyncio.Condition()  # notified whenever a reservation ends
        self._groups: list[Any] = []  # placement groups of vllm: replicas

    # the base class answers from the journal and cache, then hands the rest to one of these
    async def _run_concurrent(self, work: list[tuple[str, Request]], outcomes: dict[str, Outcome],
                              progress: ProgressHook) -> None:
        await self._on_cluster(work, outcomes, progress)

    def _run_batched(self, work: list[tuple[str, Request]], outcomes: dict[str, Outcome],
                     progress: ProgressHook) -> None:
        asyncio.run(self._on_cluster(work, outcomes, progress))

    async def _on_cluster(self, work: list[tuple[str, Request]], outcomes: dict[str, Outcome],
                          progress: ProgressHook) -> None:
        if not work:
            return
        self._started = time.monotonic()
        connect(self.settings.address)
        requests = dict(work)
        batched = self.backend.is_batched
        # under a budget every request is reserved before it is handed out, one at a time as locally (a
        # shard's first request may have to settle before the next fits, so it cannot wait in a shard)
        shard_size = 1 if self.meter.budget.limited else self.settings.shard_size or (
            4 * int(getattr(self.settings.options, "batch_size", 16)) if batched else 8)
        queue = ShardQueue([key for key, _ in work], shard_size)
        workers, limiter = self._start_workers(batched)
        self._limiter = limiter
        depth = 2 if batched else max(2, math.ceil(self.concurrency / (len(workers) * shard_size)) + 1)
        feeders = [asyncio.ensure_future(self._feed(worker, queue, requests, outcomes, progress))
                   for worker in workers for _ in range(depth)]
        try:
            await asyncio.gather(*feeders)
        except BaseException:
            for feeder in feeders:
                feeder.cancel()
            await asyncio.gather(*feeders, return_exceptions=True)
            raise
        finally:
            await self._stop_workers(workers, limiter)
            self.ray_stats.shards += queue.handed_out
            self.ray_stats.shards_redone += queue.given_back
        missing = len(work) - sum(1 for key, _ in work if key in outcomes)
        if not self.loaded:
            raise BackendError(f"no replica of {self.backend.name} loaded on the Ray cluster: "
                               f"{self._failures[0] if self._failures else 'no worker started'}")
        if missing:
            raise BackendError(f"every Ray worker was lost with {missing} requests unanswered; the journal "
                               "keeps the rest: run the same command again to resume")

    # --- workers ----------------------------------------------------------------------------------
    def _start_workers(self, batched: bool) -> tuple[list[_Worker], Any]:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        settings = self.settings
        gpus = cluster_total("GPU")
        nodes = max(1, len(alive_nodes()))
        vllm = (settings.model or "").startswith("vllm:")
        per_replica = settings.options.tensor_parallel_size if vllm else 1  # GPUs one replica holds
        count = settings.replicas or (max(1, int(gpus) // per_replica) if batched and gpus >= 1 else nodes)
        common: dict[str, Any] = {"max_restarts": 2, "max_task_retries": 0}
        node_ids = [node["NodeID"] for node in alive_nodes()]

        def placed(i: int) -> dict[str, Any]:
            """Worker i prefers node i mod N (soft: Ray places it elsewhere when that node lacks the resources),
            or needs the custom resources the settings give it."""
            if settings.worker_resources:
                return {"resources": settings.worker_resources[i % len(settings.worker_resources)]}
            return {"scheduling_strategy": NodeAffinitySchedulingStrategy(node_ids[i % len(node_ids)], soft=True)
                    if node_ids else "SPREAD"}

        limiter = None
        if batched and vllm and (gpus >= 1 or settings.options.tensor_parallel_size > 1):
            handles = self._start_vllm_replicas(count, common)  # (vLLM's CPU build, one replica: as hf below)
        elif batched:
            if gpus >= 1:
                resources: dict[str, Any] = {"num_gpus": 1, "num_cpus": 1}
            else:  # CPU-only: the cores are shared out, and torch uses as many threads as a replica holds
                largest = max((int(n.get("Resources", {}).get("CPU", 0)) for n in alive_nodes()), default=1)
                resources = {"num_cpus": max(1, min(largest, int(cluster_total("CPU")) // count))}
            actor: Any = ray.remote(ReplicaWorker)
            handles = [actor.options(**common, **resources, **placed(i)).remote(settings.model, settings.options)
                       for i in range(count)]
        else:
            name = f"evalkit-limiter-{uuid.uuid4().hex[:12]}"
            # on the driver's node (a hard placement: that node is alive while the run is), so that losing
            # another node cannot take the cluster's one limiter with it
            here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
            limiter = ray.remote(GlobalLimiter).options(name=name, num_cpus=0, max_concurrency=10_000,
                                                        scheduling_strategy=here).remote(
                self.requests_per_minute, settings.tokens_per_minute, self.concurrency)
            actor = ray.remote(ApiWorker)
            handles = [actor.options(**common, **placed(i), num_cpus=0, max_concurrency=10_000).remote(
                settings.model, settings.options, name, self.policy) for i in range(count)]
        workers = [_Worker(handle, f"replica {i + 1} of {count}") for i, handle in enumerate(handles)]
        for worker in workers:
            worker.ready = asyncio.ensure_future(self._check_ready(worker, report=True))
        return workers, limiter

    def _start_vllm_replicas(self, count: int, common: dict[str, Any]) -> list[Any]:
        """One placement group per replica (ray_placement.py): its tensor-parallel GPUs on one node."""
        import ray

        tensor_parallel = self.settings.options.tensor_parallel_size
        check_fits(tensor_parallel, alive_nodes(), "GPU")  # one line, exit 2, before any replica starts
        placement = plan_replica(tensor_parallel, "GPU")
        actor: Any = ray.remote(ReplicaWorker)
        handles = []
        for _ in range(count):
            group = reserve(placement)
            self._groups.append(group)
            handles.append(actor.options(**common, **actor_options(placement, group)).remote(
                self.settings.model, self.settings.options, placement.engine_backend))
        return handles

    async def _check_ready(self, worker: _Worker, report: bool) -> WorkerInfo | None:
        """Wait for a worker to load; report one line and give it up when it cannot."""
        import ray

        try:
            info: WorkerInfo = await asyncio.wait_for(self._ready(worker), self.settings.restart_wait)
        except (ray.exceptions.RayError, asyncio.TimeoutError) as exc:
            reason = (f"did not start within {self.settings.restart_wait:g}s (not enough free resources?)"
                      if isinstance(exc, asyncio.TimeoutError) else failure_line(exc))
            self._give_up(worker, reason, report)
            return None
        if info.identity != self.backend.identity:
            self._give_up(worker, f"loaded another model on node {info.node_ip} ({info.identity}, the driver "
                                  f"has {self.backend.identity}): are the files the same on every node?", report)
            return None
        worker.info = info
        if report and not self.loaded:
            self.ray_stats.startup_seconds += time.monotonic() - self._started
        if report:
            self.loaded.append(info)
            self.ray_stats.replicas = len(self.loaded)
            self.ray_stats.nodes = len({i.node_id for i in self.loaded})
        return info

    @staticmethod
    async def _ready(worker: _Worker) -> WorkerInfo:
        """The worker's report once it has loaded; a worker that is restarting is asked again."""
        import ray

        while True:
            try:
                return await worker.handle.ready.remote()  # type: ignore[no-any-return]
            except ray.exceptions.ActorUnavailableError:
                await asyncio.sleep(0.5)

    def _give_up(self, worker: _Worker, reason: str, report: bool) -> None:
        import ray

        if not worker.retired:
            worker.retired = True
            ray.kill(worker.handle, no_restart=True)
            line = f"warning: {self.backend.name} {worker.label} {'failed to load' if report else 'was lost'}: {reason}"
            self._failures.append(f"{worker.label}: {reason}")
            self.ray_stats.replicas_failed += 1
            print(line, file=sys.stderr)

    async def _stop_workers(self, workers: list[_Worker], limiter: Any) -> None:
        import ray

        if limiter is not None:
            with contextlib.suppress(ray.exceptions.RayError):
                self.ray_stats.rate_limited += int((await limiter.snapshot.remote())["rate_limited"])
            ray.kill(limiter)
        for worker in workers:
            for pending in self._restarts.values():
                pending.cancel()
            if worker.ready is not None and not worker.ready.done():  # the work ran out before it was ready
                worker.ready.cancel()
                self.ray_stats.replicas_unready += 1
                print(f"note: {self.backend.name} {worker.label} was not ready when the work ran out "
                      "(still loading, or no free resources for it)", file=sys.stderr)
            ray.kill(worker.handle, no_restart=True)
        for group in self._groups:  # the devices a replica reserved go back to the cluster
            with contextlib.suppress(ray.exceptions.RayError):
                ray.util.remove_placement_group(group)
        self._groups.clear()

    # --- the pull loop ----------------------------------------------------------------------------
    async def _feed(self, worker: _Worker, queue: ShardQueue, requests: dict[str, Request],
                    outcomes: dict[str, Outcome], progress: ProgressHook) -> None:
        """Pull shards for one worker until the queue is empty or the worker is given up."""
        import ray

        assert worker.ready is not None
        api_default = max(600.0, 2 * self.policy.timeout)  # never shorter than a call may take
        deadline = self.settings.shard_timeout or (None if self.backend.is_batched else api_default)
        if await _unless_drained(worker.ready, queue) is None:  # others may finish the work while this one loads
            return
        while not worker.retired:
            shard = await queue.take()
            if shard is None:
                return
            shard = await self._reserve(shard, requests, outcomes)
            if not shard:  # the budget is reached: these requests are not sent
                await queue.finish()
                continue
            unanswered = dict.fromkeys(shard)
            shard_id = uuid.uuid4().hex  # its calls' name at the limiter, forgotten there if the shard is lost
            try:
                stream = worker.handle.answer.remote(shard, [requests[key] for key in shard], shard_id)
                while (ref := await _next_within(stream, deadline)) is not None:
                    answer: Answer = await _within(ref, deadline)
                    if answer.key in unanswered:
                        del unanswered[answer.key]
                        await self._accept(answer, requests, outcomes, progress)
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError, ray.exceptions.ObjectLostError,
                    ray.exceptions.RayTaskError, asyncio.TimeoutError) as exc:
                if isinstance(exc, ray.exceptions.RayTaskError) and not _lost_in_cluster(exc):
                    cause = exc.cause if isinstance(getattr(exc, "cause", None), BaseException) else None
                    raise (cause if isinstance(cause, EvalkitError) else exc) from None  # the backend raised: stop
                if isinstance(exc, asyncio.TimeoutError):  # hung, not dead: end it, so that Ray restarts it
                    self.ray_stats.shards_stalled += 1
                    print(f"note: {self.backend.name} {worker.label} streamed nothing for {deadline:g}s: "
                          "restarting it; its shard goes to the next free worker", file=sys.stderr)
                    with contextlib.suppress(ray.exceptions.RayError):
                        ray.kill(worker.handle, no_restart=False)
                for key in unanswered:  # their reservations end with this worker; taken again, they reserve again
                    await self._settle(requests[key], key, None)
                await queue.give_back(list(unanswered))
                if self._limiter is not None:  # free the shard's slots; refuse the calls the lost process had queued
                    self._limiter.forget.remote(shard_id)
                if worker.retired:
                    return
                restarted = self._restarts.setdefault(id(worker), asyncio.ensure_future(
                    self._check_ready(worker, report=False)))
                if await _unless_drained(restarted, queue) is None:
                    return
                self._restarts.pop(id(worker), None)
                continue
            await queue.finish()

    async def _reserve(self, shard: list[str], requests: dict[str, Request], outcomes: dict[str, Outcome]
                       ) -> list[str]:
        """The keys of the shard the run's budget has room for, each reserved as the local executor reserves a
        call (waiting while calls in flight may settle); the others are answered "not sent"."""
        if not self.meter.budget.limited:
            return shard
        kept = []
        for key in shard:
            async with self._settled:  # until a call has cost something, one probes alone (CostMeter._estimate):
                while not self.meter.spend.requests and self._held:  # estimate only once it has settled
                    await self._settled.wait()
            held = await self.meter.reserve(requests[key])
            if held is None:
                outcomes[key] = Outcome(result=None, error=NOT_SENT)
            else:
                self._held[key] = held
                kept.append(key)
        return kept

    async def _settle(self, request: Request, key: str, usage: Usage | None) -> None:
        """Charge a call (``usage`` None: it cost nothing) against what it reserved."""
        await self.meter.settle(request, self._held.pop(key, None), usage)
        async with self._settled:
            self._settled.notify_all()

    async def _accept(self, answer: Answer, requests: dict[str, Request], outcomes: dict[str, Outcome],
                      progress: ProgressHook) -> None:
        """Journal (and cache) a streamed answer with its cost, then count it (the first answer of a key
        wins: a shard redone elsewhere may still be answered by the worker that was thought lost)."""
        if answer.key in outcomes:
            return
        self.stats.model_calls += answer.attempts
        self.stats.retries += answer.attempts - 1
        if answer.result is not None:
            usage = answer.result.usage
            cost = self.meter.cost(usage)
            self._persist(answer.key, answer.result, cost)  # journaled before it is charged
            await self._settle(requests[answer.key], answer.key, usage)
            outcomes[answer.key] = Outcome(result=answer.result, cost_usd=cost)
            progress(1, usage.prompt_tokens + usage.completion_tokens, 0)
        else:
            await self._settle(requests[answer.key], answer.key, None)
            self.stats.errors += 1
            outcomes[answer.key] = Outcome(result=None, error=answer.error)
            progress(1, 0, 1)


async def _next_within(stream: Any, seconds: float | None) -> Any:
    """The next object ref of a worker's answer stream, None at its end; TimeoutError after ``seconds``."""
    try:
        return await _within(stream.__anext__(), seconds)
    except StopAsyncIteration:
        return None


async def _within(awaitable: Any, seconds: float | None) -> Any:
    """``awaitable``'s result, or TimeoutError after ``seconds``. Unlike ``asyncio.wait_for`` it does not wait
    for the abandoned awaitable to acknowledge its cancellation: a Ray call to a hung or unreachable worker
    may never do so."""
    job = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({job}, timeout=seconds)
    if not done:
        job.cancel()
        job.add_done_callback(lambda finished: finished.cancelled() or finished.exception())  # nobody awaits it
        raise asyncio.TimeoutError
    return job.result()


def _lost_in_cluster(exc: BaseException) -> bool:
    """A worker's task failed because the cluster failed it (its node or the limiter's went away: a Ray
    system error inside the worker), not because the backend raised: its shard is redone elsewhere."""
    import ray

    cause = getattr(exc, "cause", None)
    return isinstance(cause, ray.exceptions.RayError) and not isinstance(cause, ray.exceptions.RayTaskError)


async def _unless_drained(job: asyncio.Future[WorkerInfo | None], queue: ShardQueue) -> WorkerInfo | None:
    """The job's result (a worker's report once ready), or None when the queue drains first: the other
    workers have answered everything, so nobody waits for this one."""
    drained: asyncio.Future[Any] = asyncio.ensure_future(queue.drained())
    waiting: list[asyncio.Future[Any]] = [job, drained]
    try:
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    finally:
        drained.cancel()
    return job.result() if job.done() else None
