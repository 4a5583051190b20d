"""Where a ``vllm:`` replica runs on a Ray cluster: one placement group per replica (needs ``evalkit[ray]``).

A replica with tensor parallelism K reserves K device bundles packed on one node (``STRICT_PACK``:
tensor-parallel ranks exchange activations every layer, so they must share a node's interconnect). The
replica actor itself takes one CPU from bundle 0 and no device; vLLM, started inside the group with
``distributed_executor_backend="ray"``, puts one worker on each device bundle — the way vLLM documents
running its engine inside a Ray actor. With K = 1 there is nothing to distribute: the actor holds the one
device itself and vLLM runs in-process.

Whether a group can ever be placed is checked on the driver before any replica starts: a cluster without
a node holding K devices is one line (exit 2), not a replica that waits for resources forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evalkit.errors import ConfigError


@dataclass(frozen=True)
class ReplicaPlacement:
    """A replica's placement group and how its actor sits in it."""

    bundles: tuple[dict[str, float], ...]
    strategy: str
    actor_resources: dict[str, Any]  # Ray actor options: num_cpus, num_gpus, resources
    engine_backend: str | None  # vLLM's distributed_executor_backend (None: vLLM runs in the actor)


def plan_replica(tensor_parallel: int, device: str = "GPU") -> ReplicaPlacement:
    """The placement of one replica using ``tensor_parallel`` devices named ``device`` in Ray's resources."""
    if tensor_parallel < 1:
        raise ConfigError(f"--tensor-parallel-size must be at least 1, got {tensor_parallel}")
    own: dict[str, Any] = {"num_gpus": 1} if device == "GPU" else {"resources": {device: 1.0}}
    if tensor_parallel == 1:
        return ReplicaPlacement(({device: 1.0, "CPU": 1.0},), "STRICT_PACK", {"num_cpus": 1, **own}, None)
    bundles = ({device: 1.0, "CPU": 1.0}, *({device: 1.0} for _ in range(tensor_parallel - 1)))
    return ReplicaPlacement(bundles, "STRICT_PACK", {"num_cpus": 1, "num_gpus": 0}, "ray")


def check_fits(tensor_parallel: int, nodes: list[dict[str, Any]], device: str = "GPU") -> None:
    """Refuse, before any replica starts, a tensor-parallel size that no node of the cluster can hold."""
    largest = max((float(node.get("Resources", {}).get(device, 0)) for node in nodes), default=0.0)
    if largest < tensor_parallel:
        have = f"its largest node has {largest:g}" if largest else "it has none"
        raise ConfigError(f"--tensor-parallel-size {tensor_parallel} needs {tensor_parallel} {device}s on one node of "
                          f"the Ray cluster, and {have} (use a smaller --tensor-parallel-size, or add such a node)")


def reserve(placement: ReplicaPlacement) -> Any:
    """Ask Ray for the replica's placement group (it is placed once the resources are free)."""
    from ray.util.placement_group import placement_group

    return placement_group(list(placement.bundles), strategy=placement.strategy)


def actor_options(placement: ReplicaPlacement, group: Any) -> dict[str, Any]:
    """Ray actor options that put the replica in bundle 0 of its group; the tasks and actors it starts
    (vLLM's workers) are captured by the group too."""
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    strategy = PlacementGroupSchedulingStrategy(placement_group=group, placement_group_bundle_index=0,
                                                placement_group_capture_child_tasks=True)
    return {**placement.actor_resources, "scheduling_strategy": strategy}
