"""A ``vllm:`` replica as a Ray actor (the CPU build, one replica), against the same run on the local executor.

Runs where both vllm and ray import (CI's ``.venv-vllm`` has the ``ray`` extra); skips elsewhere. Each run is
a process of its own, as a user's is: the Ray run starts a local Ray for itself and stops it at the end.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import run_cli

pytest.importorskip("vllm")
pytest.importorskip("ray")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")  # GiB; SmolLM2 needs far less

pytestmark = pytest.mark.slow


def _samples(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


def test_vllm_replica_on_ray_gives_the_local_results(smollm2_hf_dir: Path, tmp_path: Path, data_dir: Path) -> None:
    """ARC-Challenge by log-likelihood and GSM8K greedy generations: the same numbers and the same text."""
    common = ["--model", f"vllm:{smollm2_hf_dir}", "--dtype", "float32", "--max-model-len", "2048",
              "--benchmark", "arc_challenge,gsm8k", "--limit", "6",
              "--gen-kwargs", "max_tokens=64", "--data-dir", str(data_dir), "--no-cache", "-q"]
    local = run_cli("run", *common, "--out", str(tmp_path / "local"), timeout=600)
    assert local.returncode == 0, local.stderr[-2000:]
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    on_ray = run_cli("run", *common, "--out", str(tmp_path / "ray"), "--executor", "ray", "--replicas", "1",
                     env=env, timeout=600)
    assert on_ray.returncode == 0, on_ray.stderr[-2000:]
    execution = json.loads((tmp_path / "ray" / "manifest.json").read_text())["execution"]
    assert execution["replicas"] == 1 and execution["replicas_failed"] == 0 and execution["model_calls"] > 0
    ours, theirs = _samples(tmp_path / "local"), _samples(tmp_path / "ray")
    assert len(ours) == len(theirs) == 12
    for a, b in zip(ours, theirs):
        assert a["id"] == b["id"] and a["output"] == b["output"]
        if "choice_logliks" in a:  # other batches than the local run's: float rounding only
            assert b["choice_logliks"] == pytest.approx(a["choice_logliks"], rel=1e-5, abs=1e-5)
    results = [json.loads((tmp_path / d / "results.json").read_text())["benchmarks"] for d in ("local", "ray")]
    for name in ("arc_challenge", "gsm8k"):
        assert ({m: v["value"] for m, v in results[0][name]["metrics"].items()}
                == {m: v["value"] for m, v in results[1][name]["metrics"].items()})
