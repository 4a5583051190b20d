"""The run directory: manifest.json, samples.jsonl, results.json, and the journal.

Layout (documented in docs/run-directory.md)::

    <out>/manifest.json    config without secrets, versions, seed, times, request/token counts
    <out>/samples.jsonl    one row per sample: benchmark, id, input, output, target, scores, error…
    <out>/results.json     {"benchmarks": {NAME: {"n", "n_errors", "metrics": {M: {value, stderr, ci95}}}}}
    <out>/journal.sqlite   every completed model response, written before scoring (resume source)
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError, DataError


class RunDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.finished_before = False  # set by ``prepare``: --out already holds a complete run

    # -- writing (the runner) ---------------------------------------------------------------------
    def prepare(self, identity: str, benchmarks: Mapping[str, int]) -> None:
        """Check that ``--out`` can take this run, then create it; every refusal is one line (exit 2).

        ``benchmarks`` maps each benchmark of the new run to its number of samples. Refused: ``--out`` is
        a file or cannot be written; its manifest or journal is unreadable; it holds a run of another
        model or of other benchmarks, or a finished run with more samples than this one would keep
        (results.json and samples.jsonl would lose them).
        """
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"--out {self.path} is a file, not a run directory; choose a directory")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".evalkit-write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise ConfigError(f"--out {self.path} cannot be written ({exc.strerror}); choose a writable directory") from None
        if self.manifest_path.exists():
            self._check_previous(identity, benchmarks)
        if self.journal_path.exists():
            self._check_journal()

    def _check_previous(self, identity: str, benchmarks: Mapping[str, int]) -> None:
        try:
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            if not isinstance(manifest, dict):
                raise ValueError("not a JSON object")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ConfigError(f"{self.manifest_path} is unreadable ({exc}); it is left as it is: "
                              "choose a new --out") from None
        previous = (manifest.get("model") or {}).get("identity")
        if previous and previous != identity:
            raise ConfigError(f"{self.path} holds a run of another model ({previous}); choose a new --out")
        before = manifest.get("benchmarks") or {}
        if before and set(before) != set(benchmarks):
            raise ConfigError(f"{self.path} holds a run of {', '.join(sorted(before))}, not "
                              f"{', '.join(sorted(benchmarks))}; its results would be replaced: choose a new --out")
        self.finished_before = manifest.get("status") == "complete" and self.results_path.exists()
        if self.finished_before:
            for name, count in benchmarks.items():
                kept = (before.get(name) or {}).get("n_samples")
                if isinstance(kept, int) and count < kept:
                    raise ConfigError(f"{self.path} holds a finished run of {name} with {kept} samples; this run "
                                      f"has {count} and would drop the rest: choose a new --out (or a larger --limit)")

    def _check_journal(self) -> None:
        """A journal SQLite cannot read stops the resume before anything in the directory is rewritten."""
        try:
            db = sqlite3.connect(str(self.journal_path))
            try:
                (verdict,) = db.execute("PRAGMA quick_check").fetchone()
                if verdict != "ok":
                    raise sqlite3.DatabaseError(verdict)
                db.execute("SELECT count(*) FROM responses").fetchone()
            finally:
                db.close()
        except sqlite3.Error as exc:
            kept = "its samples.jsonl and results.json are intact; " if self.results_path.exists() else ""
            raise ConfigError(f"{self.journal_path} is damaged ({exc}), so this run cannot resume; {kept}"
                              f"to redo it, choose a new --out (or move journal.sqlite away: every call is "
                              f"then made again)") from None

    def previous_sessions(self) -> list[dict[str, Any]]:
        """The sessions an earlier attempt at this run recorded (resumes), oldest first; [] for a new run."""
        if not self.manifest_path.exists():
            return []
        try:
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return []
        sessions = manifest.get("sessions") if isinstance(manifest, dict) else None
        if isinstance(sessions, list):
            return [s for s in sessions if isinstance(s, dict)]
        if isinstance(manifest, dict) and isinstance(manifest.get("execution"), dict):  # written before sessions
            return [{"started_at": manifest.get("started_at"), "finished_at": manifest.get("finished_at"),
                     "status": manifest.get("status"), **{k: v for k, v in manifest["execution"].items()
                                                          if isinstance(v, (int, float))}}]
        return []

    def record_start(self, manifest: dict[str, Any]) -> None:
        """The manifest of a run that begins; a finished run's record stays until the resume succeeds."""
        if not self.finished_before:
            self.write_json(self.manifest_path, manifest)

    def record_stop(self, manifest: dict[str, Any]) -> None:
        """The manifest of a run that stopped (failed or interrupted); never over a finished run's record."""
        if not self.finished_before:
            self.write_json(self.manifest_path, manifest)

    def finished_problem(self) -> str | None:
        """Why this directory is not a finished run (for readers that skip those), or None."""
        if not self.path.is_dir():
            return "not a directory"
        if not self.manifest_path.exists():
            return "no manifest.json (not a run directory)"
        try:
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            return f"manifest.json is unreadable ({exc})"
        status = manifest.get("status", "complete") if isinstance(manifest, dict) else "unknown"
        if status != "complete":
            error = manifest.get("error") if isinstance(manifest, dict) else None
            return f"the run is {status}" + (f" ({error})" if error else "")
        if not self.results_path.exists():
            return "no results.json (the run did not finish)"
        return None

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    @property
    def samples_path(self) -> Path:
        return self.path / "samples.jsonl"

    @property
    def results_path(self) -> Path:
        return self.path / "results.json"

    @property
    def journal_path(self) -> Path:
        return self.path / "journal.sqlite"

    def create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def _write_atomic(self, path: Path, text: str) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)

    def write_json(self, path: Path, data: Any) -> None:
        self._write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")

    def write_samples(self, rows: Iterable[dict[str, Any]]) -> None:
        tmp = self.samples_path.with_name("samples.jsonl.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        os.replace(tmp, self.samples_path)

    # -- reading (gate, report, judge) --------------------------------------------------------
    def _read_json(self, path: Path) -> Any:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"{self.path} is not a finished run directory: {path.name} is missing") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"cannot read {path}: {exc}") from None

    def manifest(self) -> dict[str, Any]:
        return self._read_json(self.manifest_path)  # type: ignore[no-any-return]

    def results(self) -> dict[str, Any]:
        return self._read_json(self.results_path)  # type: ignore[no-any-return]

    def samples(self) -> Iterator[dict[str, Any]]:
        try:
            handle = open(self.samples_path, encoding="utf-8")
        except OSError as exc:
            raise DataError(f"cannot read {self.samples_path}: {exc.strerror}") from None
        with handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise DataError(f"{self.samples_path}:{number}: invalid JSON: {exc.msg}") from None


SESSION_TOTALS = ("model_calls", "cache_hits", "retries", "errors", "prompt_tokens", "completion_tokens",
                  "reasoning_tokens", "cached_prompt_tokens", "wall_seconds")


def with_session(previous: list[dict[str, Any]], manifest: dict[str, Any],
                 counts: dict[str, float]) -> dict[str, Any]:
    """``sessions`` (every attempt at this run: when, how it ended, what it asked) and ``execution_total``
    (their sums), so a run resumed after a crash or Ctrl-C accounts for every call and token it made.
    A session killed outright (kill -9) records nothing; its answers are in the journal all the same."""
    session = {"started_at": manifest.get("started_at"), "finished_at": manifest.get("finished_at"),
               "status": manifest.get("status"), **counts}
    sessions = [*previous, session]
    totals: dict[str, float] = {}
    for item in sessions:
        for key in SESSION_TOTALS:
            value = item.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                totals[key] = round(totals.get(key, 0) + value, 3)
    return {"sessions": sessions, "execution_total": totals}
