"""The gate's verdict: for each benchmark and metric, did the candidate drop by more than the margin?

A metric is a *regression* when H0 "drop ≤ margin" is rejected at ``alpha`` after Holm's adjustment
over every metric tested in the run pair (so ten benchmarks do not mean ten chances to cry wolf). A
floor is a plain threshold on the candidate's paired mean. A benchmark whose runs are not comparable
fails the gate unless ``allow_incomparable`` is set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evalkit.errors import ConfigError
from evalkit.gate.config import GateConfig
from evalkit.gate.pairing import LoadedRun, Pairing, load_run, pair, paired_scores
from evalkit.stats.paired import drop_interval, holm, paired_test, unpaired_z

PASS, REGRESSION, BELOW_FLOOR, INCOMPARABLE, UNTESTED = "pass", "regression", "below_floor", "incomparable", "untested"


@dataclass
class MetricCheck:
    benchmark: str
    metric: str
    higher_is_better: bool
    margin: float
    floor: float | None
    baseline: float | None = None  # mean over the paired samples
    candidate: float | None = None
    drop: float | None = None  # oriented: positive = worse
    drop_ci: tuple[float, float] | None = None
    n: int = 0
    method: str = ""
    p_value: float | None = None
    p_adjusted: float | None = None
    status: str = UNTESTED
    note: str = ""


@dataclass
class BenchmarkCheck:
    pairing: Pairing
    comparable: bool
    metrics: list[MetricCheck] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.pairing.benchmark


@dataclass
class GateOptions:
    allow_incomparable: bool = False
    correction: str = "holm"
    n_resamples: int = 10_000
    seed: int = 0


@dataclass
class GateReport:
    baseline: Path
    candidate: Path
    config: GateConfig
    benchmarks: list[BenchmarkCheck]
    missing: list[str]  # benchmarks in the baseline that the candidate lacks

    @property
    def failures(self) -> list[MetricCheck]:
        return [m for b in self.benchmarks for m in b.metrics if m.status in (REGRESSION, BELOW_FLOOR)]

    @property
    def incomparable(self) -> list[BenchmarkCheck]:
        return [b for b in self.benchmarks if not b.comparable]

    @property
    def passed(self) -> bool:
        return not self.failures and not self.incomparable and not self.missing

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1


def _metric_check(baseline: LoadedRun, candidate: LoadedRun, pairing: Pairing, metric: str,
                  config: GateConfig, options: GateOptions) -> MetricCheck:
    base_info = baseline.results["benchmarks"][pairing.benchmark]["metrics"][metric]
    cand_info = candidate.results["benchmarks"][pairing.benchmark]["metrics"][metric]
    higher = bool(base_info.get("higher_is_better", True))
    check = MetricCheck(pairing.benchmark, metric, higher, config.margin(pairing.benchmark, metric),
                        config.rule(pairing.benchmark).floor.get(metric))
    scores = paired_scores(baseline, candidate, pairing, metric)
    if scores is None:  # only an aggregate exists: compare results.json values, unpaired
        if base_info.get("value") is None or cand_info.get("value") is None:
            check.note = "no value in one of the runs"
            return check
        check.baseline, check.candidate = float(base_info["value"]), float(cand_info["value"])
        check.drop = (check.baseline - check.candidate) * (1 if higher else -1)
        test = unpaired_z(check.drop, float(base_info.get("stderr") or 0), float(cand_info.get("stderr") or 0),
                          check.margin)
        check.note = "aggregate-only metric: unpaired test"
        check.n, check.method, check.p_value = test.n, test.method, test.p_value
        return check
    return compare_scores(check, scores[0], scores[1], options)


def compare_scores(check: MetricCheck, baseline: Sequence[float], candidate: Sequence[float],
                   options: GateOptions) -> MetricCheck:
    """Fill ``check`` from paired per-sample scores: means, the oriented drop with its 95% CI, the test."""
    base, cand = np.asarray(baseline, dtype=float), np.asarray(candidate, dtype=float)
    if base.size == 0:
        check.note = "no sample scored in both runs"
        return check
    check.baseline, check.candidate = float(base.mean()), float(cand.mean())
    drops = base - cand if check.higher_is_better else cand - base
    check.drop = float(drops.mean())
    check.drop_ci = drop_interval(drops)
    test = paired_test(base.tolist(), cand.tolist(), check.margin, options.n_resamples, options.seed, check.higher_is_better)
    check.n, check.method, check.p_value = test.n, test.method, test.p_value
    return check


def _selected_metrics(run: LoadedRun, benchmark: str, config: GateConfig) -> list[str]:
    available = list(run.results["benchmarks"][benchmark].get("metrics") or {})
    wanted = config.rule(benchmark).metrics
    if wanted is None:
        return available
    unknown = [m for m in wanted if m not in available]
    if unknown:
        raise ConfigError(f"gate config: benchmark {benchmark} has no metric {unknown[0]!r}; "
                          f"it has {', '.join(available)}")
    return list(wanted)


def decide(checks: list[MetricCheck], alpha: float, correction: str = "holm") -> None:
    """Adjust the p-values of every tested check together and mark regressions (H0 drop ≤ margin rejected)."""
    tested = [m for m in checks if m.p_value is not None]
    raw = [float(m.p_value) for m in tested]  # type: ignore[arg-type]
    adjusted = holm(raw) if correction == "holm" else raw
    for check, p_adj in zip(tested, adjusted):
        check.p_adjusted = p_adj
        significant = p_adj < alpha and check.drop is not None and check.drop > check.margin
        check.status = REGRESSION if significant else PASS


def _decide(report: GateReport, alpha: float, correction: str) -> None:
    decide([m for b in report.benchmarks for m in b.metrics], alpha, correction)
    for bench in report.benchmarks:
        for check in bench.metrics:
            if check.floor is not None and check.candidate is not None and check.status != REGRESSION:
                below = check.candidate < check.floor if check.higher_is_better else check.candidate > check.floor
                if below:
                    check.status = BELOW_FLOOR
            if not bench.comparable and check.status == PASS:
                check.status = INCOMPARABLE


def run_gate(baseline_path: Path, candidate_path: Path, config: GateConfig,
             options: GateOptions | None = None) -> GateReport:
    """Compare two run directories under ``config``; the report's ``exit_code`` is the CLI's."""
    options = options or GateOptions()
    if options.correction not in ("holm", "none"):
        raise ConfigError(f"--correction must be holm or none, got {options.correction!r}")
    baseline, candidate = load_run(baseline_path), load_run(candidate_path)
    names = baseline.benchmarks()
    known = set(names) | set(candidate.benchmarks())
    for name in config.benchmarks:
        if name not in known:
            raise ConfigError(f"gate config names benchmark {name!r}, which neither run contains")
    report = GateReport(baseline_path, candidate_path, config, [], [])
    for name in names:
        if config.rule(name).skip:
            continue
        if name not in candidate.results["benchmarks"]:
            report.missing.append(name)
            continue
        pairing = pair(baseline, candidate, name)
        comparable = not pairing.problems
        if pairing.problems and options.allow_incomparable:
            pairing.warnings.extend(f"not comparable (allowed): {p}" for p in pairing.problems)
            comparable = True
        bench = BenchmarkCheck(pairing, comparable)
        cand_metrics = candidate.results["benchmarks"][name].get("metrics") or {}
        for metric in _selected_metrics(baseline, name, config):
            if metric not in cand_metrics:
                pairing.problems.append(f"candidate has no metric {metric!r}")
                bench.comparable = False
                continue
            bench.metrics.append(_metric_check(baseline, candidate, pairing, metric, config, options))
        report.benchmarks.append(bench)
    _decide(report, config.alpha, options.correction)
    return report
