"""Run sandboxed programs on the nodes of a Ray cluster (``--executor ray --allow-code-execution``).

One ``NodeSandbox`` actor per node owns a local ``Sandbox`` (its fork servers, limits and kernel
isolation are exactly those of a local run, measured on that node), and pulls small shards of programs
from the driver; a lost actor's shard goes back on the queue. ``isolation()`` records what each node
could enforce and reports the weakest, with every node's own report under ``nodes``.
Same interface as ``Sandbox`` (``run_many``, ``isolation``, ``close``), so the code kind uses either.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from evalkit.sandbox.runner import Isolation, Sandbox
from evalkit.sandbox.verdict import Limits, Verdict

SHARD_SIZE = 8


class NodeSandbox:
    """A node's sandbox (a Ray actor, pinned to its node): as many programs at once as the node has cores."""

    def __init__(self, limits: Limits, workers: int) -> None:
        self.sandbox = Sandbox(limits, workers=workers)

    def isolation(self) -> Isolation:
        return self.sandbox.isolation()

    def run(self, programs: Sequence[str]) -> list[Verdict]:
        return self.sandbox.run_many(list(programs))

    def close(self) -> None:
        self.sandbox.close()


class RaySandbox:
    def __init__(self, limits: Limits | None = None, address: str | None = None, max_nodes: int | None = None) -> None:
        self.limits = limits or Limits()
        self.address = address
        self.max_nodes = max_nodes  # None: every alive node
        self._isolation: Isolation | None = None

    def _actors(self) -> list[tuple[str, Any]]:
        """One sandbox actor per alive node, pinned there (0 CPUs reserved: the programs are its work)."""
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from evalkit.execution.ray_cluster import alive_nodes, connect

        connect(self.address)
        actor = ray.remote(NodeSandbox)
        started = []
        for node in alive_nodes()[:self.max_nodes]:
            cores = max(1, int(node.get("Resources", {}).get("CPU", os.cpu_count() or 1)))
            strategy = NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
            handle = actor.options(num_cpus=0, max_restarts=2, max_task_retries=0,
                                   scheduling_strategy=strategy).remote(self.limits, cores)
            started.append((node.get("NodeManagerAddress", node["NodeID"]) + f" ({node['NodeID'][:8]})", handle))
        return started

    def isolation(self) -> Isolation:
        """What every node's kernel lets the sandbox enforce (probed there once per run)."""
        if self._isolation is None:
            import ray

            actors = self._actors()
            try:
                reports = ray.get([handle.isolation.remote() for _, handle in actors])
            finally:
                _stop(actors)
            self._isolation = _weakest({name: report for (name, _), report in zip(actors, reports)})
        return self._isolation

    def run_many(self, programs: Sequence[str], on_done: Callable[[int], None] | None = None) -> list[Verdict]:
        """Verdicts in the order of ``programs``; nodes pull shards of them until none is left."""
        import ray

        if not programs:
            return []
        verdicts: dict[int, Verdict] = {}
        queue = deque(list(range(start, min(start + SHARD_SIZE, len(programs))))
                      for start in range(0, len(programs), SHARD_SIZE))
        actors = self._actors()
        out: dict[Any, tuple[Any, list[int]]] = {}  # in flight: ref -> (actor, indices)

        def hand_out(handle: Any) -> None:
            if queue:
                indices = queue.popleft()
                out[handle.run.remote([programs[i] for i in indices])] = (handle, indices)

        live = [handle for _, handle in actors]
        try:
            for handle in live:  # two shards each: a node never waits for the driver between shards
                hand_out(handle)
                hand_out(handle)
            while out:
                (ref,), _ = ray.wait(list(out), num_returns=1)
                handle, indices = out.pop(ref)
                try:
                    results = ray.get(ref)
                except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError):
                    queue.appendleft(indices)  # the node's actor was lost: its shard is run again
                    if not _alive(handle):  # Ray restarts it; one that does not come back is dropped
                        live.remove(handle)
                        if not live:
                            raise
                        spare = [h for h in live if sum(1 for h2, _ in out.values() if h2 is h) < 2]
                        if not spare:
                            continue  # a busy node takes it when it finishes a shard
                        handle = spare[0]
                    hand_out(handle)
                    continue
                for index, verdict in zip(indices, results):
                    verdicts[index] = verdict
                    if on_done is not None:
                        on_done(index)
                hand_out(handle)
        finally:
            _stop(actors)
        return [verdicts[i] for i in range(len(programs))]

    def close(self) -> None:
        """Nothing stays running between calls: each ``run_many`` starts and stops its node actors."""


def _alive(handle: Any) -> bool:
    import ray

    try:
        ray.get(handle.isolation.remote(), timeout=120)
        return True
    except (ray.exceptions.RayError, ray.exceptions.GetTimeoutError):
        return False


def _stop(actors: list[tuple[str, Any]]) -> None:
    """Close each node's fork servers first (they remove their pids cgroups as they exit), then end the actor:
    a killed actor's children are killed with it and could not clean up."""
    import ray

    closing = [handle.close.remote() for _, handle in actors]
    with contextlib.suppress(ray.exceptions.RayError, ray.exceptions.GetTimeoutError):
        ray.wait(closing, num_returns=len(closing), timeout=30)
    for _, handle in actors:
        ray.kill(handle, no_restart=True)


def _weakest(per_node: dict[str, Isolation]) -> Isolation:
    """The cluster's isolation is its weakest node's; each node's own report is kept under ``nodes``."""
    reports = list(per_node.values())
    worst = min(reports, key=lambda r: (r.network, r.filesystem, r.disk_quota))
    return replace(worst, network=all(r.network for r in reports), filesystem=all(r.filesystem for r in reports),
                   disk_quota=all(r.disk_quota for r in reports),
                   nodes={name: report.as_dict() for name, report in per_node.items()})
