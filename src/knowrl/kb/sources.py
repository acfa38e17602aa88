"""Record sources for a build: an input file (any reader format) or an upstream KnowRL SQLite DB.

A source can restart at a checkpoint (``seen`` records already consumed, and for JSONL the byte offset and line),
which is what makes a killed build resumable without re-reading gigabytes from the start.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from knowrl.errors import InputError
from knowrl.files import sha256_bytes
from knowrl.kb.readers import Document, Record, detect_format, read_records

UPSTREAM_SEPARATOR = "####SPECIAL####SEPARATOR####"


def file_identity(path: Path) -> dict[str, Any]:
    """Cheap identity of a possibly huge file: size, mtime and the sha256 of its first and last MiB."""
    stat = path.stat()
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
        fh.seek(max(0, stat.st_size - (1 << 20)))
        tail = fh.read()
    return {"path": str(path.resolve()), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "head_tail_sha256": sha256_bytes(head + tail)}


class FileSource:
    """JSONL / JSON array / demo dict file."""

    def __init__(self, path: str | os.PathLike, max_chars: int):
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"input file not found: {self.path}")
        self.max_chars = max_chars
        self.format = detect_format(self.path)

    def identity(self) -> dict[str, Any]:
        return {"kind": "file", "format": self.format, **file_identity(self.path)}

    def records(self, state: dict[str, Any]) -> Iterator[Record]:
        if self.format == "jsonl":
            base = state.get("line", 0)
            for record in read_records(self.path, self.max_chars, start_offset=state.get("offset", 0)):
                record.line += base
                yield record
            return
        for i, record in enumerate(read_records(self.path, self.max_chars)):
            if i >= state.get("seen", 0):
                yield record


class UpstreamSource:
    """An upstream ``knowledge_base.db``: ``documents(title PRIMARY KEY, text)``, passages joined by the
    separator; its passages are taken as they are (no re-splitting), in rowid order."""

    def __init__(self, path: str | os.PathLike, max_chars: int):
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"upstream database not found: {self.path}")
        self.max_chars = max_chars
        try:
            with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as conn:
                conn.execute("SELECT title, text FROM documents LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.path} is not an upstream KnowRL database "
                             f"(need table documents(title, text)): {exc}") from None

    def identity(self) -> dict[str, Any]:
        return {"kind": "upstream_sqlite", **file_identity(self.path)}

    def records(self, state: dict[str, Any]) -> Iterator[Record]:
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        conn.text_factory = lambda b: b.decode("utf-8", errors="surrogateescape")
        try:
            rows = conn.execute("SELECT rowid, title, text FROM documents WHERE rowid > ? ORDER BY rowid",
                                (state.get("offset", 0),))
            for rowid, title, text in rows:
                yield self._record(rowid, title, text)
        finally:
            conn.close()

    def _record(self, rowid: int, title: Any, text: Any) -> Record:
        from knowrl.kb.readers import _has_surrogates

        record = Record(line=rowid, offset=rowid)
        if not isinstance(title, str) or not isinstance(text, str):
            record.skip = "missing_field"
        elif not title.strip() or not text.strip():
            record.skip = "blank"
        elif _has_surrogates(title) or _has_surrogates(text):
            record.skip = "invalid_utf8"
        elif len(text) > self.max_chars:
            record.skip = "too_long"
        else:
            passages = [p.strip() for p in text.split(UPSTREAM_SEPARATOR) if p.strip()]
            record.doc = Document(title=title, passages=passages)
        return record
