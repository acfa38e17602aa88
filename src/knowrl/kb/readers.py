"""Streaming readers for KB input: JSONL, a JSON array, or the demo corpus's ``{title: {...}}`` dict.

Each reader yields ``Record`` objects one at a time with bounded memory (a multi-GB Wikipedia dump is never held
in RAM). A record that cannot be used carries a ``skip`` reason instead of a document, so the caller can count
``input = kept + skipped`` and ``--strict`` can stop at the first bad one with its line number.
"""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowrl.errors import InputError

TEXT_FIELDS = ("text", "extract")          # the demo corpus calls the text "extract"
CHUNK_CHARS = 1 << 20
SKIP_REASONS = {                           # reason code (manifest key) -> words for messages
    "malformed_json": "malformed JSON", "not_an_object": "not a JSON object",
    "missing_field": "missing title or text", "blank": "blank title or text", "invalid_utf8": "invalid UTF-8",
    "too_long": "document longer than kb.max_doc_chars", "duplicate_title": "duplicate title (first wins)",
}
MAX_RECORD_CHARS = 1 << 28                 # a record this big in a JSON array is treated as broken


@dataclass
class Document:
    title: str
    text: str = ""
    passages: list[str] | None = None      # pre-split passages (upstream import): used as they are
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Record:
    line: int                              # 1-based line where the record starts
    doc: Document | None = None
    skip: str | None = None                # reason when doc is None
    offset: int = 0                        # byte offset just after the record (JSONL resume point)


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def to_document(obj: Any, line: int, max_chars: int, title_hint: str | None = None) -> Record:
    """Validate one parsed object into a Document or a skip reason."""
    if not isinstance(obj, dict):
        return Record(line, skip="not_an_object")
    title = obj.get("title", title_hint)
    key = next((k for k in TEXT_FIELDS if k in obj), None)
    if not isinstance(title, str) or key is None:
        return Record(line, skip="missing_field")
    text = obj[key]
    if isinstance(text, list) and all(isinstance(t, str) for t in text):
        text = "\n\n".join(t.strip() for t in text if t.strip())
    if not isinstance(text, str):
        return Record(line, skip="missing_field")
    title = " ".join(title.split())
    if not title or not text.strip():
        return Record(line, skip="blank")
    if _has_surrogates(title) or _has_surrogates(text):
        return Record(line, skip="invalid_utf8")
    if len(text) > max_chars:
        return Record(line, skip="too_long")
    metadata = {k: v for k, v in obj.items() if k not in ("title", key)}
    return Record(line, doc=Document(title=title, text=text, metadata=metadata))


def detect_format(path: Path) -> str:
    """'jsonl' unless the first non-blank character opens a JSON array ('array') or a dict of records ('dict')."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if head.startswith("["):
        return "array"
    if head.startswith("{"):
        try:
            first = json.loads(head.split("\n", 1)[0])
        except json.JSONDecodeError:
            return "dict"                     # an object spanning lines: a dict of records
        is_record = "title" in first or any(k in first for k in TEXT_FIELDS)
        values_are_records = bool(first) and all(isinstance(v, dict) for v in first.values())
        return "dict" if values_are_records and not is_record else "jsonl"
    return "jsonl"


def read_records(path: str | os.PathLike, max_chars: int, start_offset: int = 0) -> Iterator[Record]:
    """Yield records of any supported format; ``start_offset`` resumes a JSONL file at a byte offset."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input file not found: {path}")
    fmt = detect_format(path)
    if fmt == "jsonl":
        yield from _read_jsonl(path, max_chars, start_offset)
    else:
        yield from _read_container(path, max_chars, fmt)


def _read_jsonl(path: Path, max_chars: int, start_offset: int) -> Iterator[Record]:
    with open(path, "rb") as fh:
        fh.seek(start_offset)
        offset = start_offset
        for lineno, raw in enumerate(fh, 1):
            offset += len(raw)
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield Record(lineno, skip="invalid_utf8", offset=offset)
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                yield Record(lineno, skip="malformed_json", offset=offset)
                continue
            record = to_document(obj, lineno, max_chars)
            record.offset = offset
            yield record


class _Scanner:
    """Incremental JSON tokenizer over a text stream: only the current record is in memory."""

    def __init__(self, fh):
        self.fh = fh
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        self.buf = ""
        self.pos = 0
        self.line = 1
        self.json = json.JSONDecoder()

    def _fill(self) -> bool:
        chunk = self.fh.read(CHUNK_CHARS)
        self.line += self.buf.count("\n", 0, self.pos)
        self.buf = self.buf[self.pos:] + self.decoder.decode(chunk, final=not chunk)
        self.pos = 0
        return bool(chunk)

    def peek(self) -> str:
        """Next non-blank character ('' at end of file), without consuming it."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n\ufeff":
                self.pos += 1
            if self.pos < len(self.buf) or not self._fill():
                return self.buf[self.pos:self.pos + 1]

    def expect(self, chars: str) -> str:
        ch = self.peek()
        if not ch or ch not in chars:
            raise InputError(f"{self.fh.name}:{self.where()}: malformed JSON (expected one of {chars!r}, "
                             f"found {ch or 'end of file'!r})")
        self.pos += 1
        return ch

    def where(self) -> int:
        return self.line + self.buf.count("\n", 0, self.pos)

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                obj, end = self.json.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                # maybe the record only continues in the next chunk; give up at end of file or at the cap
                if len(self.buf) - self.pos > MAX_RECORD_CHARS or not self._fill():
                    raise InputError(f"{self.fh.name}:{self.where()}: malformed JSON ({exc.msg})") from None
                continue
            if end == len(self.buf) and self._fill():  # a number or literal may continue in the next chunk
                continue
            self.pos = end
            return obj


def _read_container(path: Path, max_chars: int, fmt: str) -> Iterator[Record]:
    """A JSON array of records, or a dict ``title -> record``; a syntax error here cannot be resynchronised."""
    with open(path, "rb") as fh:
        scan = _Scanner(fh)
        scan.expect("[" if fmt == "array" else "{")
        close = "]" if fmt == "array" else "}"
        if scan.peek() == close:
            return
        while True:
            scan.peek()
            line = scan.where()
            key = None
            if fmt == "dict":
                key = scan.value()
                scan.expect(":")
            obj = scan.value()
            hint = key if isinstance(key, str) else None
            yield to_document(obj, line, max_chars, title_hint=hint)
            if scan.expect("," + close) == close:
                return
