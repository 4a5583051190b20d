"""Read two run directories and line up their samples: which ids they share, and are they comparable?

Two runs of one benchmark are comparable when the benchmark's manifest fingerprint agrees (spec version
and hash, few-shot seed and k, scoring mode) and, on every shared sample id, the exact prompt and the
target agree, and both runs hold the same set of ids. Anything else is listed as a problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import DataError
from evalkit.store.rundir import RunDir

FINGERPRINT_KEYS = ("version", "spec_sha256", "fewshot_seed", "fewshot_k", "mode")
DATA_KEYS = ("revision", "data_sha256")  # the hub commit, or the local files' sha256 (manifest fingerprint)


@dataclass
class LoadedRun:
    path: Path
    manifest: dict[str, Any]
    results: dict[str, Any]
    samples: dict[str, dict[str, dict[str, Any]]]  # benchmark → id → row

    def benchmarks(self) -> list[str]:
        return list(self.results.get("benchmarks", {}))


@dataclass
class Pairing:
    """One benchmark in both runs: the shared ids, in a fixed order, and what makes them incomparable."""

    benchmark: str
    shared: list[str]
    only_baseline: int
    only_candidate: int
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def load_run(path: Path) -> LoadedRun:
    """Manifest, results and samples of a finished run; DataError when any is missing or malformed."""
    rundir = RunDir(path)
    if not path.is_dir():
        raise DataError(f"{path} is not a directory; pass a run directory written by `evalkit run`")
    manifest = rundir.manifest()
    results = rundir.results()
    if not isinstance(results, dict) or not isinstance(results.get("benchmarks"), dict):
        raise DataError(f"{rundir.results_path}: expected {{\"benchmarks\": {{...}}}}")
    samples: dict[str, dict[str, dict[str, Any]]] = {}
    for number, row in enumerate(rundir.samples(), 1):
        if not isinstance(row, dict) or "benchmark" not in row or "id" not in row:
            raise DataError(f"{rundir.samples_path}:{number}: a sample row needs 'benchmark' and 'id'")
        rows = samples.setdefault(str(row["benchmark"]), {})
        sample_id = str(row["id"])
        if sample_id in rows:
            raise DataError(f"{rundir.samples_path}:{number}: duplicate sample id {sample_id!r} in {row['benchmark']}")
        rows[sample_id] = row
    return LoadedRun(path, manifest, results, samples)


def _fingerprint(run: LoadedRun, benchmark: str) -> dict[str, Any]:
    entry = (run.manifest.get("benchmarks") or {}).get(benchmark) or {}
    return entry if isinstance(entry, dict) else {}


def pair(baseline: LoadedRun, candidate: LoadedRun, benchmark: str) -> Pairing:
    """Shared ids of ``benchmark`` and every reason the two runs of it cannot be compared."""
    base_rows = baseline.samples.get(benchmark, {})
    cand_rows = candidate.samples.get(benchmark, {})
    shared = [i for i in base_rows if i in cand_rows]
    result = Pairing(benchmark, shared, len(base_rows) - len(shared), len(cand_rows) - len(shared))
    base_fp, cand_fp = _fingerprint(baseline, benchmark), _fingerprint(candidate, benchmark)
    for key in FINGERPRINT_KEYS:
        if base_fp.get(key) != cand_fp.get(key):
            result.problems.append(f"{key} differs ({base_fp.get(key)!r} vs {cand_fp.get(key)!r})")
    for key in DATA_KEYS:  # the same kind of data identity on both sides must agree
        if key in base_fp and key in cand_fp and base_fp[key] != cand_fp[key]:
            result.problems.append(f"data differs: {key} {base_fp[key]!r} vs {cand_fp[key]!r}")
    has_identity = any(key in fp for fp in (base_fp, cand_fp) for key in DATA_KEYS)
    if has_identity and not any(key in base_fp and key in cand_fp for key in DATA_KEYS):
        result.warnings.append("data identity cannot be compared (hub revision on one side, local sha256 or "
                               "nothing on the other); prompts and targets are compared sample by sample")
    elif "unpinned" in (base_fp.get("revision"), cand_fp.get("revision")):
        result.warnings.append("hub data without a pinned revision: the rows may differ between the runs")
    if base_fp.get("source") != cand_fp.get("source"):
        result.warnings.append(f"data source differs ({base_fp.get('source')} vs {cand_fp.get('source')})")
    if result.only_baseline or result.only_candidate:
        result.problems.append(f"sample sets differ: {len(shared)} shared, {result.only_baseline} only in baseline, "
                               f"{result.only_candidate} only in candidate")
    if not shared:
        result.problems.append("no shared sample ids")
    prompts = sum(1 for i in shared if base_rows[i].get("input") != cand_rows[i].get("input"))
    if prompts:
        result.problems.append(f"prompts differ on {prompts} of {len(shared)} shared samples")
    targets = sum(1 for i in shared if base_rows[i].get("target") != cand_rows[i].get("target"))
    if targets:
        result.problems.append(f"targets differ on {targets} of {len(shared)} shared samples")
    errors_base = sum(1 for i in shared if base_rows[i].get("error"))
    errors_cand = sum(1 for i in shared if cand_rows[i].get("error"))
    if errors_cand > errors_base:
        result.warnings.append(f"candidate errored on {errors_cand} samples (baseline {errors_base}); "
                               "errored samples are left out of the comparison")
    return result


def paired_scores(baseline: LoadedRun, candidate: LoadedRun, pairing: Pairing,
                  metric: str) -> tuple[list[float], list[float]] | None:
    """Scores of ``metric`` on shared ids where neither run errored nor left it empty; None when the
    samples do not carry this metric at all (an aggregate-only statistic such as corpus BLEU)."""
    base_rows = baseline.samples.get(pairing.benchmark, {})
    cand_rows = candidate.samples.get(pairing.benchmark, {})
    carried = False
    base: list[float] = []
    cand: list[float] = []
    for sample_id in pairing.shared:
        b_row, c_row = base_rows[sample_id], cand_rows[sample_id]
        b_scores, c_scores = b_row.get("scores") or {}, c_row.get("scores") or {}
        carried = carried or metric in b_scores or metric in c_scores
        if b_row.get("error") or c_row.get("error"):
            continue
        b_value, c_value = b_scores.get(metric), c_scores.get(metric)
        if b_value is None or c_value is None:
            continue
        if isinstance(b_value, bool) or not isinstance(b_value, (int, float)) or \
                isinstance(c_value, bool) or not isinstance(c_value, (int, float)):
            raise DataError(f"{pairing.benchmark}/{sample_id}: score {metric!r} is not a number")
        base.append(float(b_value))
        cand.append(float(c_value))
    return (base, cand) if carried else None
