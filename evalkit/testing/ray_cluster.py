"""A real multi-node Ray cluster on 127.0.0.1 for tests and bench scripts (needs ``evalkit[ray]``).

Each node is a ``ray start --block`` process in its own session, with its own custom resource
(``node0``, ``node1``…) so work can be placed on a chosen node. Clients must set ``RAY_AUTH_MODE=disabled``
(``client_env``). ``stop()`` ends exactly the process groups it started (never ``ray stop``, which would end every Ray process of the machine).
"""

from __future__ import annotations

import contextlib
import os
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


class LocalCluster:
    def __init__(self, nodes: int = 2, cpus_per_node: int = 1, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.temp_dir = tempfile.mkdtemp(prefix="ek-ray-")  # short: Ray's socket paths must stay short
        # a loopback test cluster needs no auth token (Ray 2.60 would otherwise demand one of every client)
        self.env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled", **(env or {})}
        self.processes: list[subprocess.Popen[bytes]] = []
        self.nodes = nodes
        self.cpus_per_node = cpus_per_node

    @property
    def client_env(self) -> dict[str, str]:
        """What a driver process needs in its environment to join this cluster."""
        return {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled", "RAY_ADDRESS": self.address}

    def start(self, timeout: float = 120) -> LocalCluster:
        common = ["--node-ip-address=127.0.0.1", f"--num-cpus={self.cpus_per_node}", "--num-gpus=0",
                  "--disable-usage-stats", "--block"]
        self._spawn(["start", "--head", f"--port={self.port}", "--include-dashboard=false",
                     f"--ray-client-server-port={free_port()}", f"--temp-dir={self.temp_dir}",
                     '--resources={"node0": 1}', *common])
        self._wait_for_nodes(1, timeout)
        for index in range(1, self.nodes):
            self._spawn(["start", f"--address={self.address}", f'--resources={{"node{index}": 1}}', *common])
        self._wait_for_nodes(self.nodes, timeout)
        return self

    def _spawn(self, args: list[str]) -> None:
        self.processes.append(subprocess.Popen([_RAY, *args], env=self.env, stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL, start_new_session=True))

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

    def stop(self) -> None:
        for process in reversed(self.processes):  # workers first, then the head
            process.terminate()  # `ray start --block` then stops the processes of its node
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=40)
            with contextlib.suppress(ProcessLookupError):  # anything of that node still alive
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
