"""The gate's report in the shapes CI understands: JUnit XML, Markdown (step summary), plain rows."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from evalkit.gate.check import BELOW_FLOOR, REGRESSION, BenchmarkCheck, GateReport, MetricCheck


def _num(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2e}" if value < 1e-3 else f"{value:.4f}"


def drop_text(check: MetricCheck) -> str:
    if check.drop is None:
        return "—"
    ci = f" [{check.drop_ci[0]:+.4f}, {check.drop_ci[1]:+.4f}]" if check.drop_ci else ""
    return f"{check.drop:+.4f}{ci}"


def rows(report: GateReport) -> list[list[str]]:
    """One row per metric: benchmark, metric, baseline, candidate, drop [CI], margin, p (adj), test, n, status."""
    out = []
    for bench in report.benchmarks:
        for m in bench.metrics:
            out.append([m.benchmark, m.metric + ("" if m.higher_is_better else " (↓ better)"), _num(m.baseline),
                        _num(m.candidate), drop_text(m), _num(m.margin, 3) + (f", floor {m.floor:g}" if m.floor is not None else ""),
                        f"{_p(m.p_value)} ({_p(m.p_adjusted)})", m.method or m.note, str(m.n), m.status])
    return out


HEADERS = ["benchmark", "metric", "baseline", "candidate", "drop [95% CI]", "margin", "p (adjusted)", "test", "n",
           "status"]


def verdict_line(report: GateReport) -> str:
    if report.passed:
        tested = sum(1 for b in report.benchmarks for m in b.metrics if m.p_value is not None)
        return f"PASS: no significant drop beyond the margin in {tested} metrics (alpha {report.config.alpha:g})"
    parts = []
    regressions = [m for m in report.failures if m.status == REGRESSION]
    floors = [m for m in report.failures if m.status == BELOW_FLOOR]
    if regressions:
        parts.append("regression in " + ", ".join(f"{m.benchmark}/{m.metric}" for m in regressions))
    if floors:
        parts.append("below floor: " + ", ".join(f"{m.benchmark}/{m.metric}" for m in floors))
    if report.incomparable:
        parts.append("not comparable: " + ", ".join(b.name for b in report.incomparable))
    if report.missing:
        parts.append("missing from candidate: " + ", ".join(report.missing))
    return "FAIL: " + "; ".join(parts)


def _notes(bench: BenchmarkCheck) -> list[str]:
    return [f"{bench.name}: {p}" for p in bench.pairing.problems] + \
           [f"{bench.name}: warning: {w}" for w in bench.pairing.warnings]


def notes(report: GateReport) -> list[str]:
    return [line for bench in report.benchmarks for line in _notes(bench)]


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def markdown(report: GateReport) -> str:
    """A Markdown section for ``$GITHUB_STEP_SUMMARY``."""
    icon = "✅" if report.passed else "❌"
    lines = [f"## {icon} evalkit gate", "", _md_cell(verdict_line(report)), "",
             f"Baseline `{_md_cell(str(report.baseline))}` → candidate `{_md_cell(str(report.candidate))}`; "
             f"a regression is a drop larger than the margin at one-sided alpha {report.config.alpha:g} "
             "(Holm-adjusted p).", "",
             "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows(report)]
    extra = notes(report) + [f"{name}: missing from the candidate run" for name in report.missing]
    if extra:
        lines += ["", "**Notes**", ""] + [f"- {_md_cell(n)}" for n in extra]
    return "\n".join(lines) + "\n"


def junit(report: GateReport) -> ET.ElementTree:
    """One testcase per benchmark/metric, plus a comparability testcase per benchmark."""
    suite = ET.Element("testsuite", name="evalkit-gate")
    failures = 0
    count = 0
    for bench in report.benchmarks:
        case = ET.SubElement(suite, "testcase", classname=f"gate.{bench.name}", name="comparable")
        count += 1
        if not bench.comparable:
            failures += 1
            ET.SubElement(case, "failure", message="runs are not comparable").text = "\n".join(bench.pairing.problems)
        for m in bench.metrics:
            case = ET.SubElement(suite, "testcase", classname=f"gate.{bench.name}", name=m.metric)
            count += 1
            detail = (f"baseline {_num(m.baseline)} candidate {_num(m.candidate)} drop {drop_text(m)} "
                      f"margin {m.margin:g} p {_p(m.p_value)} adjusted {_p(m.p_adjusted)} ({m.method or m.note})")
            ET.SubElement(case, "system-out").text = detail
            if m.status in (REGRESSION, BELOW_FLOOR):
                failures += 1
                ET.SubElement(case, "failure", message=m.status).text = detail
            elif m.p_value is None:
                ET.SubElement(case, "skipped", message=m.note or "not tested")
    for name in report.missing:
        case = ET.SubElement(suite, "testcase", classname=f"gate.{name}", name="present")
        count += 1
        failures += 1
        ET.SubElement(case, "failure", message="benchmark missing from the candidate run")
    suite.set("tests", str(count))
    suite.set("failures", str(failures))
    return ET.ElementTree(suite)


def write_junit(report: GateReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    junit(report).write(path, encoding="utf-8", xml_declaration=True)


def append_summary(report: GateReport, path: Path) -> None:
    """Append (GitHub's step summary file is shared by every step of a job)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(markdown(report))
