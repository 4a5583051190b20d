"""Start and stop the fake OpenAI server in a subprocess (tests and bench scripts)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass
class RunningServer:
    process: subprocess.Popen[str]
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=10) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    def arrivals(self) -> list[float]:
        """When each request reached the server (``time.time()``), faulted ones included."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/arrivals", timeout=10) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    def reset(self) -> None:
        """Zero the counters and arrivals (a second run's calls are then counted alone)."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/stats/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def bodies(self) -> list[dict[str, Any]]:
        """The chat request bodies the server answered, in order."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/log", timeout=10) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_fake_server(*args: str) -> RunningServer:
    """Launch ``python -m evalkit.testing.fake_openai ARGS`` and wait for its READY line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "evalkit.testing.fake_openai", "--port", "0", *args],
        stdout=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("READY"):
        process.kill()
        raise RuntimeError(f"fake server failed to start: {line!r}")
    return RunningServer(process, int(line.split()[1]))
