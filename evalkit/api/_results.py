"""``Results``: a run directory seen from Python, with metrics and samples as pandas DataFrames.

pandas is imported when a DataFrame is first asked for, so ``import evalkit`` stays light.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit.errors import DataError
from evalkit.store.rundir import RunDir

if TYPE_CHECKING:
    import pandas as pd

_METRIC_COLUMNS = ["benchmark", "metric", "value", "stderr", "ci95_low", "ci95_high", "n", "higher_is_better"]
_SAMPLE_FIRST = ["benchmark", "id", "input", "output", "target", "extracted", "error"]


class Results:
    """A finished run: ``metrics`` and ``samples`` DataFrames, ``to_dict()``, and the run directory."""

    def __init__(self, run_dir: Path, manifest: dict[str, Any], results: dict[str, Any]) -> None:
        self.run_dir = run_dir
        self.manifest = manifest
        self.results = results

    @property
    def model(self) -> str | None:
        return self.manifest.get("model", {}).get("name")

    @property
    def benchmarks(self) -> list[str]:
        return list(self.results.get("benchmarks", {}))

    def metric_rows(self) -> list[dict[str, Any]]:
        """One plain row per benchmark × metric (what ``metrics`` holds, without pandas)."""
        rows = []
        for benchmark, entry in self.results.get("benchmarks", {}).items():
            for metric, cell in (entry.get("metrics") or {}).items():
                if not isinstance(cell, dict):
                    continue
                low, high = (list(cell.get("ci95") or []) + [None, None])[:2]
                rows.append({"benchmark": benchmark, "metric": metric, "value": cell.get("value"),
                             "stderr": cell.get("stderr"), "ci95_low": low, "ci95_high": high,
                             "n": cell.get("n"), "higher_is_better": cell.get("higher_is_better")})
        return rows

    @cached_property
    def metrics(self) -> pd.DataFrame:
        """One row per benchmark × metric: value, stderr, ci95_low, ci95_high, n, higher_is_better."""
        import pandas as pd

        return pd.DataFrame(self.metric_rows(), columns=_METRIC_COLUMNS)

    @cached_property
    def samples(self) -> pd.DataFrame:
        """One row per sample of samples.jsonl; each score is its own column ``scores.<metric>``."""
        import pandas as pd

        rows = []
        for row in RunDir(self.run_dir).samples():
            scores = row.pop("scores", None) or {}
            rows.append({**row, **{f"scores.{name}": value for name, value in scores.items()}})
        frame = pd.DataFrame(rows)
        first = [c for c in _SAMPLE_FIRST if c in frame.columns]
        return frame[first + [c for c in frame.columns if c not in first]]

    def to_dict(self) -> dict[str, Any]:
        """Plain data: the run directory, its manifest and its results.json."""
        return {"run_dir": str(self.run_dir), "manifest": self.manifest, "results": self.results}

    def __repr__(self) -> str:
        lines = [f"Results(run_dir={str(self.run_dir)!r}, model={self.model!r}, status={self.manifest.get('status')!r})"]
        for row in self.metric_rows():
            value, low, high = row["value"], row["ci95_low"], row["ci95_high"]
            shown = "—" if value is None else f"{value:.4g}"
            interval = f" [{low:.4g}, {high:.4g}]" if low is not None and high is not None else ""
            lines.append(f"  {row['benchmark']}  {row['metric']} = {shown}{interval}  (n={row['n']})")
        return "\n".join(lines)

    def _repr_html_(self) -> str:  # notebooks: the metrics table (pandas escapes the cells)
        caption = f"<p><code>{_escape(str(self.run_dir))}</code> — {_escape(str(self.model))}</p>"
        return caption + self.metrics.to_html(index=False)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def load_run(path: str | Path) -> Results:
    """The Results of a run directory written by ``evalkit run`` or ``evaluate`` (one line if it is not one)."""
    run_dir = Path(path).expanduser()
    if not run_dir.is_dir():
        raise DataError(f"{run_dir} is not a run directory")
    store = RunDir(run_dir)
    return Results(run_dir, store.manifest(), store.results())
