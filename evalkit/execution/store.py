"""SQLite response store: the shared cache and the per-run journal use the same table.

WAL mode with ``synchronous=NORMAL`` makes each committed row survive ``kill -9`` of the process,
so a response is durable before anything scores it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from evalkit.types import Result, result_from_json, result_to_json

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    result TEXT NOT NULL,
    created REAL NOT NULL
)
"""


class ResponseStore:
    """Get-or-put of results by request key, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def get(self, key: str) -> Result | None:
        with self._lock:
            row = self._db.execute("SELECT result FROM responses WHERE key = ?", (key,)).fetchone()
        return result_from_json(row[0]) if row else None

    def get_many(self, keys: list[str]) -> dict[str, Result]:
        """Look up many keys at once (chunked to stay under SQLite's parameter limit)."""
        found: dict[str, Result] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT key, result FROM responses WHERE key IN ({marks})", chunk)
                for key, text in rows:
                    found[key] = result_from_json(text)
        return found

    def put(self, key: str, backend: str, result: Result) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, backend, result, created) VALUES (?, ?, ?, ?)",
                (key, backend, result_to_json(result), time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
