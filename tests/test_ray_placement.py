"""Placement groups of tensor-parallel ``vllm:`` replicas, on a real two-node Ray cluster on 127.0.0.1.

There is no GPU here, so a custom resource stands in for one ("standin"; the head node has 2, the
second node 1): the plans are the ones GPU replicas get with the device name swapped. Ray itself must place
a 2-device group on the one node that holds 2, capture the actor (and what it starts) in the group as vLLM
expects, and a 3-device replica must be refused in one line before anything starts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("ray")

from evalkit.errors import ConfigError  # noqa: E402
from evalkit.execution.ray_cluster import alive_nodes  # noqa: E402
from evalkit.execution.ray_placement import actor_options, check_fits, plan_replica, reserve  # noqa: E402
from evalkit.testing.ray_cluster import LocalCluster  # noqa: E402

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cluster():
    import ray

    nodes = LocalCluster(nodes=2, cpus_per_node=1, env={"PYTHONPATH": str(REPO)},
                         resources={0: {"standin": 2}, 1: {"standin": 1}}).start()
    os.environ.update(nodes.client_env)
    try:
        ray.init(address=nodes.address, logging_level="ERROR")
        yield nodes
    finally:
        ray.shutdown()
        nodes.stop()
        for key in nodes.client_env:
            os.environ.pop(key, None)


def test_plans_for_gpus():
    one = plan_replica(1)
    assert one.bundles == ({"GPU": 1, "CPU": 1},) and one.actor_resources == {"num_cpus": 1, "num_gpus": 1}
    assert one.engine_backend is None  # nothing to distribute: vLLM runs in the actor, on its GPU
    four = plan_replica(4)
    assert four.strategy == "STRICT_PACK" and four.engine_backend == "ray"
    assert four.bundles == ({"GPU": 1, "CPU": 1}, {"GPU": 1}, {"GPU": 1}, {"GPU": 1})
    assert four.actor_resources == {"num_cpus": 1, "num_gpus": 0}  # vLLM's workers take the GPU bundles
    with pytest.raises(ConfigError, match="at least 1"):
        plan_replica(0)


def test_two_devices_are_packed_on_the_one_node_that_has_them(cluster):
    import ray
    from ray.util import placement_group_table

    check_fits(2, alive_nodes(), "standin")
    placement = plan_replica(2, "standin")
    group = reserve(placement)
    try:
        ray.get(group.ready(), timeout=60)
        table = placement_group_table(group)
        head = next(n["NodeID"] for n in alive_nodes() if "node0" in n["Resources"])
        assert table["strategy"] == "STRICT_PACK" and set(table["bundles_to_node_id"].values()) == {head}

        @ray.remote
        class Probe:
            def where(self):
                current = ray.util.get_current_placement_group()  # what vLLM reads inside the actor
                return ray.get_runtime_context().get_node_id(), current.id.hex() if current else None

        probe = Probe.options(**actor_options(placement, group)).remote()
        assert ray.get(probe.where.remote(), timeout=60) == (head, group.id.hex())
        ray.kill(probe)
    finally:
        ray.util.remove_placement_group(group)


def test_a_replica_no_node_can_hold_is_one_line_before_anything_starts(cluster):
    with pytest.raises(ConfigError) as caught:
        check_fits(3, alive_nodes(), "standin")
    message = str(caught.value)
    assert len(message.splitlines()) == 1
    assert "--tensor-parallel-size 3 needs 3 standins on one node" in message and "largest node has 2" in message
    with pytest.raises(ConfigError, match="and it has none"):
        check_fits(2, alive_nodes(), "GPU")  # the loopback cluster has no GPU at all
