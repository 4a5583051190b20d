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
    created REAL NOT NULL,
    paid_usd REAL,
    paid_tokens INTEGER NOT NULL DEFAULT 0
)
"""
# paid_*: what this call cost when it was made for this store's run (NULL/0 for a copy from the cache,
# NULL cost for a model without a price), so a resumed run knows what its budget has already spent.
_COLUMNS = {"paid_usd": "REAL", "paid_tokens": "INTEGER NOT NULL DEFAULT 0"}


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
        present = {row[1] for row in self._db.execute("PRAGMA table_info(responses)")}
        for column, kind in _COLUMNS.items():  # journals written before cost accounting
            if column not in present:
                self._db.execute(f"ALTER TABLE responses ADD COLUMN {column} {kind}")

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

    def put(self, key: str, backend: str, result: Result, paid_usd: float | None = None, paid_tokens: int = 0) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, backend, result, created, paid_usd, paid_tokens) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key, backend, result_to_json(result), time.time(), paid_usd, paid_tokens),
            )

    def paid(self) -> tuple[float, int]:
        """(USD, tokens) paid for the calls stored here — what a budget has already spent on this run."""
        with self._lock:
            usd, tokens = self._db.execute("SELECT SUM(paid_usd), SUM(paid_tokens) FROM responses").fetchone()
        return float(usd or 0.0), int(tokens or 0)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
