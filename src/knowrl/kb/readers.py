"""Streaming readers for KB input: JSONL, a JSON array, or the demo corpus's ``{title: {...}}`` dict, and the
JSONL corpora users already hold: wikiextractor's ``--json`` output (``id, url, title, text``; one paragraph per
line) and the Search-R1 / FlashRAG wiki-18 passages (``{"id", "contents": "\"Title\"\npassage"}``, the passages of a
page on consecutive lines, kept as they are).

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
    "redirect": "a redirect (recorded in the redirects table, no passages)",
    "other_namespace": "not in the main (article) namespace", "not_selected": "not selected by --titles-from",
    "truncated": "cut off by the end of a truncated dump", "invalid_xml": "XML or bz2 data that cannot be read",
    "unparseable_wikitext": "wikitext the parser rejects",
}
EXPECTED_SKIPS = frozenset({"redirect", "other_namespace", "not_selected"})   # counted, but not bad input (--strict)
JSONL_FORMATS = ("jsonl", "wikiextractor", "wiki18")
MAX_RECORD_CHARS = 1 << 28                 # a record this big in a JSON array is treated as broken
MAX_FIRST_LINE = 1 << 26                   # format sniffing reads at most this much of the first line


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
    redirect: tuple[str, str] | None = None  # (title, target) of a dump redirect page (skip = "redirect")


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
    with _open(path) as fh:
        line = b""
        while not line.strip():               # the first non-blank line, whole (a Wikipedia article can be MBs)
            line = fh.readline(MAX_FIRST_LINE)
            if not line:
                break
    head = line.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if head.startswith("["):
        return "array"
    if head.startswith("{"):
        try:
            first = json.loads(head)
        except json.JSONDecodeError:
            return "dict"                     # an object spanning lines: a dict of records
        is_record = "title" in first or any(k in first for k in TEXT_FIELDS)
        values_are_records = bool(first) and all(isinstance(v, dict) for v in first.values())
        if values_are_records and not is_record:
            return "dict"
        if "contents" in first and "title" not in first:
            return "wiki18"
        return "wikiextractor" if {"id", "url", "title", "text"} <= set(first) else "jsonl"
    return "jsonl"


def read_records(path: str | os.PathLike, max_chars: int, start_offset: int = 0) -> Iterator[Record]:
    """Yield records of any supported format; ``start_offset`` resumes a JSONL file at a byte offset."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input file not found: {path}")
    fmt = detect_format(path)
    if fmt == "wiki18":
        yield from _read_wiki18(path, max_chars, start_offset)
    elif fmt in JSONL_FORMATS:
        yield from _read_jsonl(path, max_chars, start_offset, paragraph_lines=fmt == "wikiextractor")
    else:
        yield from _read_container(path, max_chars, fmt)


def _open(path: Path):
    if path.suffix == ".bz2":                  # wikiextractor --compress
        import bz2

        return bz2.open(path, "rb")
    return open(path, "rb")


def _read_jsonl(path: Path, max_chars: int, start_offset: int, paragraph_lines: bool = False) -> Iterator[Record]:
    """``paragraph_lines``: each line of the text is a paragraph (wikiextractor), so it becomes a blank-line break."""
    with _open(path) as fh:
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
            if paragraph_lines and record.doc is not None:
                record.doc.text = "\n\n".join(p for p in record.doc.text.split("\n") if p.strip())
            yield record


def _wiki18_line(raw: bytes) -> tuple[str, str] | str:
    """(title, passage) of one wiki-18 line, or a skip reason."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return "invalid_utf8"
    except json.JSONDecodeError:
        return "malformed_json"
    if not isinstance(obj, dict):
        return "not_an_object"
    contents = obj.get("contents")
    if not isinstance(contents, str):
        return "missing_field"
    head, _, text = contents.partition("\n")
    title = " ".join(head.strip().strip('"').split())
    return (title, text.strip()) if title and text.strip() else "blank"


def _read_wiki18(path: Path, max_chars: int, start_offset: int) -> Iterator[Record]:
    """Consecutive lines of one title are one document; their passages are kept as they are."""
    title, passages, first_line, size, end = None, [], 0, 0, start_offset

    def flush() -> Record:
        record = Record(first_line, offset=end)
        if size > max_chars:
            record.skip = "too_long"
        else:
            record.doc = Document(title=title, passages=list(passages))
        return record

    with _open(path) as fh:
        fh.seek(start_offset)
        offset = start_offset
        for lineno, raw in enumerate(fh, 1):
            offset += len(raw)
            if not raw.strip():
                continue
            parsed = _wiki18_line(raw)
            if isinstance(parsed, tuple) and parsed[0] == title:
                passages.append(parsed[1])
                size += len(parsed[1])
                end = offset
                continue
            if title is not None:
                yield flush()
                title = None
            if isinstance(parsed, str):
                yield Record(lineno, skip=parsed, offset=offset)
                continue
            title, passages, first_line, size, end = parsed[0], [parsed[1]], lineno, len(parsed[1]), offset
    if title is not None:
        yield flush()


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
