"""Write run directories from given per-sample rows (tests and bench scripts for the gate and report).

The files have the layout `evalkit run` writes (manifest fingerprints, samples.jsonl, results.json with
``summarize_mean`` intervals), so the gate and the report read them exactly as they read real runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.stats.uncertainty import summarize_mean
from evalkit.store.rundir import RunDir


@dataclass
class BenchmarkInfo:
    """What the manifest and results record about one synthetic benchmark."""

    category: str = "reasoning"
    kind: str = "generate"
    metrics: dict[str, bool] = field(default_factory=lambda: {"acc": True})  # name → higher_is_better
    version: int = 1
    fewshot_seed: int = 1234
    fewshot_k: int = 0
    mode: str = "generate"


def _sha(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def write_run(path: Path, model: str, rows: Iterable[dict[str, Any]], benchmarks: dict[str, BenchmarkInfo],
              results_extra: dict[str, Any] | None = None, judgments: Iterable[dict[str, Any]] = ()) -> Path:
    """Write ``path`` as a finished run of ``model``; rows need benchmark, id, input, output, target, scores."""
    rows = [{"error": None, "metadata": {}, **row} for row in rows]
    rundir = RunDir(path)
    rundir.create()
    manifest_benchmarks = {}
    results: dict[str, Any] = {"benchmarks": {}}
    for name, info in benchmarks.items():
        mine = [r for r in rows if r["benchmark"] == name]
        manifest_benchmarks[name] = {
            "version": info.version, "spec_sha256": _sha([name, info.version, info.kind]),
            "fewshot_seed": info.fewshot_seed, "fewshot_k": info.fewshot_k, "n_samples": len(mine),
            "source": f"synthetic:{name}", "mode": info.mode, "prompt_sha256": _sha([r["input"] for r in mine]),
        }
        metrics = {}
        for metric, higher in info.metrics.items():
            values = [r["scores"].get(metric) for r in mine if not r["error"]]
            summary = summarize_mean([v for v in values if v is not None])
            summary["higher_is_better"] = higher
            metrics[metric] = summary
        results["benchmarks"][name] = {"n": len(mine), "n_errors": sum(1 for r in mine if r["error"]),
                                       "metrics": metrics, "mode": info.mode, "category": info.category,
                                       "kind": info.kind}
    results.update(results_extra or {})
    manifest = {"evalkit_version": "0.1.0", "model": {"name": model, "identity": f"synthetic|{model}"},
                "benchmarks": manifest_benchmarks, "seed": 0, "status": "complete", "n_samples": len(rows)}
    rundir.write_json(rundir.manifest_path, manifest)
    rundir.write_samples(rows)
    rundir.write_json(rundir.results_path, results)
    judgments = list(judgments)
    if judgments:
        with open(path / "judgments.jsonl", "w", encoding="utf-8") as handle:
            for row in judgments:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path
