"""Record sources for a build: an input file (any reader format), a folder of wikiextractor output, a SQLite
``documents(title, text)`` file (upstream KnowRL's ``knowledge_base.db`` or FActScore's Wikipedia DB), or a
MediaWiki XML dump (``knowrl.kb.dumpsource``); ``open_source`` tells them apart by their content.

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
from knowrl.kb.readers import JSONL_FORMATS, Document, Record, detect_format, read_records

UPSTREAM_SEPARATOR = "####SPECIAL####SEPARATOR####"
SQLITE_MAGIC = b"SQLite format 3\x00"
FACTSCORE_MARKERS = ("<s>", "</s>")         # FActScore's passages are decoded RoBERTa tokens with these kept
FILE_STRIDE = 1 << 40                      # folder resume offset = file number * FILE_STRIDE + byte offset


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
        if self.format in JSONL_FORMATS:
            base = state.get("line", 0)
            for record in read_records(self.path, self.max_chars, start_offset=state.get("offset", 0)):
                record.line += base
                yield record
            return
        for i, record in enumerate(read_records(self.path, self.max_chars)):
            if i >= state.get("seen", 0):
                yield record


class JsonlDirSource:
    """A folder of JSON-lines files, read in sorted path order: wikiextractor's ``--json`` output
    (``AA/wiki_00`` ..., or ``wiki_00.bz2`` with ``--compress``)."""

    def __init__(self, path: str | os.PathLike, max_chars: int):
        self.path = Path(path)
        self.files = sorted(p for p in self.path.rglob("*") if p.is_file() and not p.name.startswith("."))
        if not self.files:
            raise InputError(f"{self.path} holds no files")
        self.max_chars = max_chars

    def identity(self) -> dict[str, Any]:
        return {"kind": "jsonl_folder", "path": str(self.path.resolve()),
                "files": [{"name": str(p.relative_to(self.path)), **{k: v for k, v in file_identity(p).items()
                                                                      if k != "path"}} for p in self.files]}

    def records(self, state: dict[str, Any]) -> Iterator[Record]:
        first, start = divmod(state.get("offset", 0), FILE_STRIDE)
        line = state.get("line", 0)
        for number in range(first, len(self.files)):
            for record in read_records(self.files[number], self.max_chars, start if number == first else 0):
                line += 1
                record.line = line
                record.offset += number * FILE_STRIDE
                yield record


class UpstreamSource:
    """A SQLite ``documents(title PRIMARY KEY, text)`` with passages joined by the separator: upstream KnowRL's
    ``knowledge_base.db`` or FActScore's DB (its ``<s>``/``</s>`` markers removed); the passages are taken as they
    are (no re-splitting), in rowid order."""

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
            for marker in FACTSCORE_MARKERS:
                text = text.replace(marker, "")
            passages = [p.strip() for p in text.split(UPSTREAM_SEPARATOR) if p.strip()]
            record.doc = Document(title=title, passages=passages)
        return record


def is_sqlite(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(16) == SQLITE_MAGIC


def open_source(path: str | os.PathLike, settings, *, titles: list[str] | None = None):
    """The source for ``path``, by content: MediaWiki dump (plain / bz2 / multistream), SQLite documents table,
    a folder (wikiextractor output), else a JSONL / JSON file."""
    from knowrl.kb.wikidump import is_dump

    path = Path(path)
    if not path.exists():
        raise InputError(f"input file not found: {path}")
    if path.is_dir():
        return JsonlDirSource(path, settings.max_doc_chars)
    if is_dump(path):
        from knowrl.kb.dumpsource import DumpSource
        from knowrl.kb.dumppages import ConvertSettings

        convert = ConvertSettings(str(settings.embedder_path()), settings.passage_tokens, settings.max_doc_chars)
        return DumpSource(path, convert, titles=titles, index=settings.dump.index, processes=settings.dump.processes,
                          neighbourhood=settings.dump.link_neighbourhood)
    if is_sqlite(path):
        return UpstreamSource(path, settings.max_doc_chars)
    return FileSource(path, settings.max_doc_chars)
