"""A real multi-node Ray cluster on 127.0.0.1 for tests and bench scripts (needs ``evalkit[ray]``).

Each node is a ``ray start --block`` process in its own session, with its own custom resource
(``node0``, ``node1``…) so work can be placed on a chosen node. Clients must set ``RAY_AUTH_MODE=disabled``
(``client_env``). ``kill_node(i)`` takes one node down the way a machine failure does (SIGKILL of its
raylet and workers, no clean shutdown). ``stop()`` ends exactly what this cluster started — its process
groups, then any process still naming its temporary directory — and removes that directory; it never runs
``ray stop``, which would end every Ray process of the machine.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def busiest_window(times: list[float], seconds: float = 1.0) -> int:
    """The most events in any window of ``seconds`` (sliding, start inclusive, end exclusive)."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def processes_naming(text: str) -> list[int]:
    """Pids of this machine's processes whose command line contains ``text`` (every process of a Ray
    node names its session directory, under the cluster's temporary directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def session_members(session: int) -> list[int]:
    """Pids of the processes in session ``session`` (a node started with ``start_new_session``: its raylet,
    and its workers, each of which Ray puts in a process group of its own)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != session:
            with contextlib.suppress(OSError):
                if os.getsid(int(entry.name)) == session:
                    found.append(int(entry.name))
    return found


class LocalCluster:
    def __init__(self, nodes: int = 2, cpus_per_node: int = 1, env: dict[str, str] | None = None,
                 resources: dict[int, dict[str, float]] | None = None) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.temp_dir = tempfile.mkdtemp(prefix="ek-ray-")  # short: Ray's socket paths must stay short
        # a loopback test cluster needs no auth token (Ray 2.60 would otherwise demand one of every client)
        self.env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled", **(env or {})}
        self.processes: list[subprocess.Popen[bytes]] = []
        self.nodes = nodes
        self.cpus_per_node = cpus_per_node
        self.resources = resources or {}  # more custom resources of node i (e.g. a stand-in for GPUs)
        atexit.register(self.stop)  # a test session that dies mid-test still leaves no cluster behind

    @property
    def client_env(self) -> dict[str, str]:
        """What a driver process needs in its environment to join this cluster."""
        return {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled", "RAY_ADDRESS": self.address}

    def start(self, timeout: float = 120) -> LocalCluster:
        self.processes.append(self._spawn([
            "start", "--head", f"--port={self.port}", "--include-dashboard=false",
            f"--ray-client-server-port={free_port()}", f"--temp-dir={self.temp_dir}", self._resources_arg(0),
            *self._common_args()]))
        self._wait_for_nodes(1, timeout)
        for index in range(1, self.nodes):
            self.processes.append(self._spawn(self._worker_node_args(index)))
        self._wait_for_nodes(self.nodes, timeout)
        return self

    def _common_args(self) -> list[str]:
        return ["--node-ip-address=127.0.0.1", f"--num-cpus={self.cpus_per_node}", "--num-gpus=0",
                "--disable-usage-stats", "--block"]

    def _worker_node_args(self, index: int) -> list[str]:
        return ["start", f"--address={self.address}", self._resources_arg(index), *self._common_args()]

    def _resources_arg(self, index: int) -> str:
        return "--resources=" + json.dumps({f"node{index}": 1, **self.resources.get(index, {})})

    def _spawn(self, args: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen([_RAY, *args], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)

    def _wait_for_nodes(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        script = ("import ray, sys; ray.init(address=sys.argv[1], logging_level='ERROR'); "
                  "print(sum(1 for n in ray.nodes() if n['Alive']))")
        while time.monotonic() < deadline:
            probe = subprocess.run([sys.executable, "-c", script, self.address], env=self.env, capture_output=True,
                                   text=True, timeout=120)
            if probe.returncode == 0 and probe.stdout.strip().splitlines()[-1:] == [str(count)]:
                return
            if any(p.poll() is not None for p in self.processes):
                break
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"the Ray cluster at {self.address} did not reach {count} nodes")

    def kill_node(self, index: int) -> None:
        """SIGKILL node ``index`` (not the head, 0): its ``ray start``, raylet and every worker on it, at once."""
        if not 0 < index < len(self.processes):
            raise ValueError(f"node {index}: this cluster has worker nodes 1..{len(self.processes) - 1}")
        process = self.processes[index]
        for pid in [process.pid, *session_members(process.pid)]:  # Ray puts each worker in a group of its own
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()

    def restart_node(self, index: int, timeout: float = 120) -> None:
        """Start node ``index`` again (a fresh node with the same resources) after ``kill_node``."""
        if self.processes[index].poll() is None:
            raise RuntimeError(f"node {index} is still running")
        self.processes[index] = self._spawn(self._worker_node_args(index))
        self._wait_for_nodes(self.nodes, timeout)

    def stop(self) -> None:
        for process in reversed(self.processes):  # workers first, then the head
            if process.poll() is None:
                process.terminate()  # `ray start --block` then stops the processes of its node
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=40)
            for pid in [process.pid, *session_members(process.pid)]:  # anything of that node still alive
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.processes.clear()
        for pid in processes_naming(self.temp_dir):  # a Ray process that left the node's group
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
