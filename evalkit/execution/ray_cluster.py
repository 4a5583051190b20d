"""Joining a Ray cluster (the one place that calls ``ray.init``), and what the cluster holds."""

from __future__ import annotations

import os
import sys
from typing import Any

from evalkit.errors import BackendError


def connect(address: str | None) -> None:
    """Join the cluster at ``address``; with None or ``auto``: ``$RAY_ADDRESS``, else a cluster started on
    this machine with ``ray start``, else a Ray started for this run (it stops when the process exits)."""
    import ray

    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": "ERROR"}
    explicit = address not in (None, "auto")
    target = address if explicit else os.environ.get("RAY_ADDRESS") or "auto"
    try:
        ray.init(address=target, **quiet)
        return
    except ConnectionError as exc:
        if explicit or target != "auto":
            raise BackendError(f"cannot join the Ray cluster at {target}: {failure_line(exc)}") from None
    print("note: no Ray cluster found: starting a local Ray for this run (see docs/distributed.md)", file=sys.stderr)
    ray.init(include_dashboard=False, **quiet)


def alive_nodes() -> list[dict[str, Any]]:
    import ray

    return [node for node in ray.nodes() if node.get("Alive")]


def cluster_total(resource: str) -> float:
    import ray

    return float(ray.cluster_resources().get(resource, 0.0))


def failure_line(exc: BaseException) -> str:
    """The last meaningful line of a Ray error (its cause, not Ray's traceback), for a one-line report."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException) and str(cause):
        return f"{type(cause).__name__}: {cause}".splitlines()[0]
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line.split(":")[0] or "Exception" in line.split(":")[0]]
    return (errors[-1] if errors else lines[0] if lines else type(exc).__name__)[:300]
