"""Small helpers for tests: run the CLI in a subprocess, build answer files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def peer_python(name: str) -> Path:
    """The python of a reference package's side venv (``.ci/run`` makes them under ``$EVALKIT_PEERS``)."""
    return Path(os.environ.get("EVALKIT_PEERS", "/tmp/peers")) / name / "bin" / "python"


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python -m evalkit ARGS`` as a user would; returns the completed process."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "evalkit", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)


def gsm8k_answers(data_dir: Path, path: Path, wrong_every: int = 0) -> Path:
    """An answers file for the fake server: the gold answer for each GSM8K question
    (every ``wrong_every``-th one deliberately wrong)."""
    with open(path, "w", encoding="utf-8") as out:
        for index, line in enumerate(open(data_dir / "gsm8k" / "test.jsonl", encoding="utf-8")):
            row = json.loads(line)
            gold = row["answer"].split("####")[-1].strip().replace(",", "")
            answer = str(int(gold) + 1) if wrong_every and index % wrong_every == 0 else gold
            out.write(json.dumps({"match": row["question"], "output": f"Reasoning...\n#### {answer}"}) + "\n")
    return path
