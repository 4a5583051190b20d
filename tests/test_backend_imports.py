"""An API-only run never imports the local engines (torch, transformers, vllm): start-up stays light."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
from evalkit.backends.factory import BackendOptions, create_backend
import evalkit.runner, evalkit.cli.main  # everything an API run loads before its first request
backend = create_backend("openai:gpt-4o-mini", BackendOptions(base_url="http://127.0.0.1:9/v1"))
print(sorted(m for m in ("torch", "transformers", "vllm") if m in sys.modules))
"""


def test_openai_backend_imports_no_torch_transformers_or_vllm() -> None:
    proc = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"
