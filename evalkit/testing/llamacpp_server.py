"""A real llama.cpp server (xllamacpp) on 127.0.0.1 for tests and benchmarks.

It serves a GGUF over the OpenAI protocol in a child process, so evalkit's ``openai:`` backend is
tested against a server it did not write. ``python -m evalkit.testing.llamacpp_server GGUF PORT
N_PARALLEL THREADS`` is the child; ``llamacpp_server(gguf)`` starts it, waits for ``/health`` and
yields the ``/v1`` base URL.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def llamacpp_server(gguf: Path, n_parallel: int = 2, threads: int = 0, start_timeout: float = 120.0
                    ) -> Iterator[str]:
    """The server's OpenAI base URL (``http://127.0.0.1:PORT/v1``) while the block runs.
    ``threads`` 0 leaves llama.cpp's own choice."""
    port = free_port()
    log = tempfile.TemporaryFile()  # a file, not a pipe: a pipe nobody reads would block the server's logging
    process = subprocess.Popen([sys.executable, "-m", "evalkit.testing.llamacpp_server", str(gguf), str(port),
                                str(n_parallel), str(threads)], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while not _healthy(base):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log.seek(0)
                raise RuntimeError(f"llama.cpp server did not start: {log.read()[-2000:].decode(errors='replace')}")
            time.sleep(0.5)
        yield f"{base}/v1"
    finally:
        log.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _serve(gguf: str, port: int, n_parallel: int, threads: int) -> None:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = gguf
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_ctx = 4096
    params.n_parallel = n_parallel
    if threads:
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
    server = xllamacpp.Server(params)  # serves until the process ends
    print("listening", server.listening_address, flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
