"""Persistent judge cache in SQLite, shared safely by several processes (WAL journal, busy timeout).

Keys hash everything that can change a reply: backend, model identity, task, template version, decoding
parameters and the task inputs. Only successfully parsed results are stored, so a failure is retried next time;
a hit returns exactly the stored result. Without a file the cache lives in SQLite's memory for this process and is
bounded in bytes (oldest entries evicted first), so a long run with the rule backend or ``judge.cache: null``
cannot grow without limit.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from knowrl.files import sha256_json

SCHEMA = "CREATE TABLE IF NOT EXISTS judge_cache (key TEXT PRIMARY KEY, task TEXT, value TEXT, created REAL)"


def cache_key(**parts: Any) -> str:
    return sha256_json(parts)


class JudgeCache:
    """``get_many`` / ``put_many`` on a SQLite file; ``path=None`` keeps an in-memory cache for this process only,
    holding at most ``memory_mb`` MB of keys and JSON values."""

    def __init__(self, path: str | os.PathLike | None, busy_timeout_s: float = 60.0, memory_mb: float = 64.0):
        self.path = Path(path) if path else None
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.max_bytes = int(memory_mb * 2**20)
        self._bytes = 0  # in memory: stored key + value characters (an upper bound after INSERT OR IGNORE)
        self._lock = threading.Lock()
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path) if self.path else ":memory:",
                                     timeout=busy_timeout_s, check_same_thread=False, isolation_level=None)
        self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        if self.path:
            self._set_wal(busy_timeout_s)
            self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute(SCHEMA)

    def _set_wal(self, wait_s: float) -> None:
        """WAL mode, once per file. Switching needs an exclusive lock and SQLite returns "database is locked" at once
        (no busy wait) while another connection opens the same new file, so retry until ``wait_s``."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                if self._conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    self._conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        """Stored values for the keys that are present; counts hits and misses per key."""
        found: dict[str, Any] = {}
        unique = list(dict.fromkeys(keys))
        with self._lock:
            for start in range(0, len(unique), 500):
                chunk = unique[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(f"SELECT key, value FROM judge_cache WHERE key IN ({marks})", chunk)
                found.update((key, json.loads(value)) for key, value in rows)
            self.hits += sum(1 for k in keys if k in found)
            self.misses += sum(1 for k in keys if k not in found)
        return found

    def put_many(self, entries: dict[str, tuple[str, Any]]) -> None:
        """Store ``{key: (task, value)}`` in one transaction (first writer wins on a race)."""
        if not entries:
            return
        now = time.time()
        rows = [(key, task, json.dumps(value, sort_keys=True), now) for key, (task, value) in entries.items()]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany("INSERT OR IGNORE INTO judge_cache VALUES (?, ?, ?, ?)", rows)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            if self.path is None:
                self._bytes += sum(len(key) + len(value) for key, _, value, _ in rows)
                if self._bytes > self.max_bytes:
                    self._evict()

    def _evict(self) -> None:
        """Drop the oldest rows until the stored bytes are under 90% of the bound (memory only; lock held)."""
        self._bytes = self._conn.execute(
            "SELECT COALESCE(SUM(length(key) + length(value)), 0) FROM judge_cache").fetchone()[0]
        target = int(self.max_bytes * 0.9)
        if self._bytes <= target:
            return
        dropped, freed = [], 0
        for rowid, size in self._conn.execute(
                "SELECT rowid, length(key) + length(value) FROM judge_cache ORDER BY rowid"):
            if self._bytes - freed <= target:
                break
            dropped.append((rowid,))
            freed += size
        self._conn.executemany("DELETE FROM judge_cache WHERE rowid = ?", dropped)
        self._bytes -= freed
        self.evictions += len(dropped)

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM judge_cache").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
