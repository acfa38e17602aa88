"""A persistent key-value cache for decompositions, retrievals and verdicts: SQLite behind a bounded LRU front.

Keys are sha256 digests of everything that determines the value (model identity, KB manifest hash, settings,
text), so a changed backend never serves a stale entry. ``path=None`` keeps only the bounded memory front.
Every in-memory memo of the stage is a ``BoundedLRU``: bounded in entries and in bytes, because one retrieval
entry (k passages) weighs a thousand times more than one verdict.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter, OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knowrl.files import sha256_json

if TYPE_CHECKING:
    from knowrl.facts.settings import CacheSettings

MB = 2**20


def cache_key(*parts: Any) -> str:
    """Stable digest of JSON-able parts.

    >>> cache_key("a", 1) == cache_key("a", 1) != cache_key("a", 2)
    True
    """
    return sha256_json(list(parts))


class BoundedLRU:
    """Least-recently-used map holding at most ``max_items`` entries and ``max_bytes`` of their sizes (what the
    caller says an entry weighs); an entry larger than the whole byte budget is not kept."""

    def __init__(self, max_items: int, max_bytes: int):
        self.max_items, self.max_bytes = max(0, max_items), max(0, max_bytes)
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self.nbytes = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._data

    def get(self, key: Hashable) -> Any:
        """The value (now the most recently used) or None when absent."""
        entry = self._data.get(key)
        if entry is None:
            return None
        self._data.move_to_end(key)
        return entry[0]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        old = self._data.pop(key, None)
        if old is not None:
            self.nbytes -= old[1]
        if size > self.max_bytes or self.max_items == 0:
            return
        self._data[key] = (value, size)
        self.nbytes += size
        while len(self._data) > self.max_items or self.nbytes > self.max_bytes:
            _, (_, dropped) = self._data.popitem(last=False)
            self.nbytes -= dropped
            self.evictions += 1


class FactCache:
    """``get_many(ns, keys)`` / ``put_many(ns, items)`` over namespaces; counts hits and misses per namespace.
    The memory front of each namespace holds at most ``memory_items`` entries and ``memory_mb`` MB of values,
    an entry weighing the length of its JSON (Python objects take a few times more; the order is what counts)."""

    def __init__(self, path: str | Path | None = None, memory_items: int = 100_000, memory_mb: float = 256.0):
        self.path = Path(path) if path else None
        self.memory_items = max(0, memory_items)
        self.memory_bytes = int(max(0.0, memory_mb) * MB)
        self._memory: dict[str, BoundedLRU] = {}
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

    @classmethod
    def from_settings(cls, settings: "CacheSettings") -> "FactCache":
        """The cache of ``facts.cache``."""
        return cls(settings.path, settings.memory_items, settings.memory_mb)

    def get_many(self, ns: str, keys: Sequence[str]) -> dict[str, Any]:
        """Found entries as ``{key: value}``; every key asked counts once as a hit or a miss."""
        with self._lock:
            front = self._front(ns)
            found = {key: front.get(key) for key in keys if key in front}
            rest = [k for k in dict.fromkeys(keys) if k not in found]
            if rest and self._conn is not None:
                for key, value in self._select(ns, rest):
                    found[key] = json.loads(value)
                    front.put(key, found[key], len(value))
            self.hits[ns] += sum(1 for k in keys if k in found)
            self.misses[ns] += sum(1 for k in keys if k not in found)
            return found

    def put_many(self, ns: str, items: Iterable[tuple[str, Any]]) -> None:
        items = list(items)
        if not items:
            return
        rows = [(ns, key, json.dumps(value, ensure_ascii=False)) for key, value in items]
        with self._lock:
            front = self._front(ns)
            for (key, value), (_, _, text) in zip(items, rows):
                front.put(key, value, len(text))
            if self._conn is not None:
                self._conn.executemany("INSERT OR REPLACE INTO kv (ns, key, value) VALUES (?, ?, ?)", rows)
                self._conn.commit()

    def stats(self) -> dict[str, dict[str, int]]:
        """Hits and misses per namespace, with the memory front's entries, estimated bytes and evictions."""
        out = {}
        for ns in sorted(set(self.hits) | set(self.misses) | set(self._memory)):
            front = self._memory.get(ns)
            out[ns] = {"hits": self.hits[ns], "misses": self.misses[ns], "memory_items": len(front or ()),
                       "memory_bytes": front.nbytes if front else 0, "evictions": front.evictions if front else 0}
        return out

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

    def _front(self, ns: str) -> BoundedLRU:
        if ns not in self._memory:
            self._memory[ns] = BoundedLRU(self.memory_items, self.memory_bytes)
        return self._memory[ns]
