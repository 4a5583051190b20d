"""Shared fixtures: the real benchmark data (skipped when absent), an isolated cache, a fake server."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from evalkit.testing.server import RunningServer, start_fake_server

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("EVALKIT_TEST_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real benchmark files (../shared/data); tests that need them skip in a user's clone."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"benchmark data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("EVALKIT_CACHE_DIR", str(cache))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return cache


@pytest.fixture
def fake_server() -> Iterator[Callable[..., RunningServer]]:
    """Start fake OpenAI servers with the given CLI args; all are stopped after the test."""
    started: list[RunningServer] = []

    def start(*args: str) -> RunningServer:
        server = start_fake_server(*args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def smollm2_hf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded SmolLM2-135M-Instruct GGUF as a plain HF directory (float32), converted once."""
    pytest.importorskip("torch")
    pytest.importorskip("gguf")
    from evalkit.backends.gguf_to_hf import convert_gguf
    from evalkit.backends.hf import embedded_gguf
    from evalkit.errors import BackendError

    try:
        gguf = embedded_gguf()
    except BackendError as exc:
        pytest.skip(str(exc))
    return convert_gguf(gguf, tmp_path_factory.mktemp("smollm2") / "hf")
