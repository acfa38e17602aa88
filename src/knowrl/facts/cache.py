"""A persistent key-value cache for decompositions, retrievals and verdicts: SQLite behind a bounded LRU front.

Keys are sha256 digests of everything that determines the value (model identity, KB manifest hash, settings,
text), so a changed backend never serves a stale entry. ``path=None`` keeps only the bounded memory front.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from knowrl.files import sha256_json


def cache_key(*parts: Any) -> str:
    """Stable digest of JSON-able parts.

    >>> cache_key("a", 1) == cache_key("a", 1) != cache_key("a", 2)
    True
    """
    return sha256_json(list(parts))


class FactCache:
    """``get_many(ns, keys)`` / ``put_many(ns, items)`` over namespaces; counts hits and misses per namespace."""

    def __init__(self, path: str | Path | None = None, memory_items: int = 100_000):
        self.path = Path(path) if path else None
        self.memory_items = max(0, memory_items)
        self._memory: dict[str, OrderedDict[str, Any]] = {}
        self.hits: Counter[str] = Counter()
        self.misses: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("CREATE TABLE IF NOT EXISTS kv (ns TEXT, key TEXT, value TEXT, "
                               "PRIMARY KEY (ns, key)) WITHOUT ROWID")
            self._conn.commit()

    def get_many(self, ns: str, keys: Sequence[str]) -> dict[str, Any]:
        """Found entries as ``{key: value}``; every key asked counts once as a hit or a miss."""
        with self._lock:
            front = self._memory.setdefault(ns, OrderedDict())
            found = {}
            for key in keys:
                if key in front:
                    front.move_to_end(key)
                    found[key] = front[key]
            rest = [k for k in dict.fromkeys(keys) if k not in found]
            if rest and self._conn is not None:
                for key, value in self._select(ns, rest):
                    found[key] = json.loads(value)
                    self._remember(front, key, found[key])
            self.hits[ns] += sum(1 for k in keys if k in found)
            self.misses[ns] += sum(1 for k in keys if k not in found)
            return found

    def put_many(self, ns: str, items: Iterable[tuple[str, Any]]) -> None:
        items = list(items)
        if not items:
            return
        with self._lock:
            front = self._memory.setdefault(ns, OrderedDict())
            for key, value in items:
                self._remember(front, key, value)
            if self._conn is not None:
                self._conn.executemany("INSERT OR REPLACE INTO kv (ns, key, value) VALUES (?, ?, ?)",
                                       [(ns, k, json.dumps(v, ensure_ascii=False)) for k, v in items])
                self._conn.commit()

    def stats(self) -> dict[str, dict[str, int]]:
        return {ns: {"hits": self.hits[ns], "misses": self.misses[ns]}
                for ns in sorted(set(self.hits) | set(self.misses))}

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _select(self, ns: str, keys: list[str]) -> list[tuple[str, str]]:
        rows: list[tuple[str, str]] = []
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows.extend(self._conn.execute(  # type: ignore[union-attr]
                f"SELECT key, value FROM kv WHERE ns = ? AND key IN ({marks})", [ns, *chunk]))
        return rows

    def _remember(self, front: OrderedDict, key: str, value: Any) -> None:
        if self.memory_items == 0:
            return
        front[key] = value
        front.move_to_end(key)
        while len(front) > self.memory_items:
            front.popitem(last=False)
