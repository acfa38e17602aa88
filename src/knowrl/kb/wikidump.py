"""Reading the official MediaWiki XML export (``pages-articles[-multistream].xml[.bz2]``) with bounded memory.

Two ways in. A whole file (plain XML, one bz2 stream, or many concatenated streams) is decompressed and parsed
incrementally, one page in memory at a time. A multistream file with its index (``offset:page_id:title`` lines, one
per page, grouped by the byte offset of the bz2 stream of ~100 pages that holds it) can be cut into independent
streams, each decompressed and parsed on its own: that is what lets several processes share one dump, and lets a
filtered build read only the streams it needs. A truncated final stream yields the pages it still holds whole; the
rest are reported as truncated, never silently dropped.
"""

from __future__ import annotations

import bz2
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from knowrl.errors import InputError

CHUNK = 1 << 20
BZ2_MAGIC = b"BZh"


@dataclass
class RawPage:
    """One ``<page>`` as exported: wikitext not parsed yet. ``problem`` marks a page that could not be read."""
    title: str
    ns: int = 0
    page_id: int | None = None
    redirect: str | None = None            # <redirect title="..."/>
    text: str | None = None
    problem: str | None = None             # truncated | invalid_xml


@dataclass(frozen=True)
class Stream:
    """One bz2 stream of a multistream dump, from its index: byte range and number of pages it holds."""
    offset: int
    length: int
    pages: int


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


def _page(elem: ET.Element) -> RawPage:
    page = RawPage(title="")
    for child in elem:
        name = _local(child.tag)
        if name == "title":
            page.title = child.text or ""
        elif name == "ns":
            page.ns = _int(child.text) or 0
        elif name == "id":
            page.page_id = _int(child.text)
        elif name == "redirect":
            page.redirect = child.get("title")
        elif name == "revision":                               # the last revision wins (history dumps)
            for sub in child:
                if _local(sub.tag) == "text":
                    page.text = sub.text or ""
    return page


class PageParser:
    """Incremental ``<page>`` parser: feed bytes, get the pages completed so far; finished pages are freed."""

    def __init__(self, wrap: bool = False):
        self._parser = ET.XMLPullParser(events=("start", "end"))
        self._root: ET.Element | None = None
        self.open_page = False
        self.closed = False                                    # the root element ended: the document is whole
        if wrap:                                               # a bare stream of <page> elements
            self._parser.feed(b"<mediawiki>")

    def feed(self, data: bytes) -> list[RawPage]:
        self._parser.feed(data)
        pages = []
        for event, elem in self._parser.read_events():
            if event == "start":
                if self._root is None:
                    self._root = elem
                elif _local(elem.tag) == "page":
                    self.open_page = True
            elif _local(elem.tag) == "page":
                pages.append(_page(elem))
                self.open_page = False
                self._root.clear()
            elif elem is self._root:
                self.closed = True
        return pages


def is_bz2(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(3) == BZ2_MAGIC


def is_dump(path: Path) -> bool:
    """A MediaWiki XML export, plain or bz2-compressed (sniffed from the content, not the name)."""
    if path.is_dir():
        return False
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith(BZ2_MAGIC):
        try:
            head = bz2.BZ2Decompressor().decompress(head)
        except OSError:
            return False
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<mediawiki") or (head.startswith(b"<?xml") and b"<mediawiki" in head[:4096])


def find_index(path: Path) -> Path | None:
    """The index beside a multistream dump: ``X-multistream.xml.bz2`` -> ``X-multistream-index.txt[.bz2]``."""
    name = path.name
    if "multistream" not in name or not name.endswith(".xml.bz2"):
        return None
    stem = name[: -len(".xml.bz2")]
    for candidate in (f"{stem}-index.txt.bz2", f"{stem}-index.txt"):
        if (path.parent / candidate).is_file():
            return path.parent / candidate
    return None


def _decompressed(path: Path) -> Iterator[bytes]:
    """Decompressed bytes of a plain or (multi-stream) bz2 file; raises EOFError at the end of a truncated one."""
    with open(path, "rb") as fh:
        if fh.read(3) != BZ2_MAGIC:
            fh.seek(0)
            while chunk := fh.read(CHUNK):
                yield chunk
            return
        fh.seek(0)
        dec, started = bz2.BZ2Decompressor(), False
        while raw := fh.read(CHUNK):
            while raw:
                try:
                    out = dec.decompress(raw)
                except OSError as exc:
                    raise InputError(f"{path}: corrupt bz2 data ({exc})") from None
                started = True
                if out:
                    yield out
                if dec.eof:                                    # next concatenated stream, if any
                    raw, dec, started = dec.unused_data, bz2.BZ2Decompressor(), False
                else:
                    raw = b""
        if started and not dec.eof:
            raise EOFError("compressed file ended before the end-of-stream marker")


def iter_file_pages(path: Path, skip: int = 0) -> Iterator[RawPage]:
    """Every page of the whole file in order (the first ``skip`` are parsed but not yielded: resume).

    A truncated file (cut bz2 data, or XML that never closes) ends with one ``RawPage(problem="truncated")``:
    the page it stopped in, or at least one page lost in its last bz2 block. Malformed XML cannot be
    resynchronised in one stream, so it is an InputError naming the position."""
    parser = PageParser()
    seen = 0
    chunks = _decompressed(path)
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            break
        except EOFError:                                       # bz2 data cut short
            break
        try:
            pages = parser.feed(chunk)
        except ET.ParseError as exc:
            raise InputError(f"{path}: malformed XML ({exc}); with its multistream index only the bad stream "
                             "would be skipped") from None
        for page in pages:
            seen += 1
            if seen > skip:
                yield page
    if not parser.closed and seen + 1 > skip:
        yield RawPage(title="", problem="truncated")


def read_index(index: Path, dump: Path) -> list[Stream]:
    """Streams of a multistream dump from its index, in file order (pages per stream counted from the index)."""
    opener = bz2.open if is_bz2(index) else open
    size = dump.stat().st_size
    offsets: list[int] = []
    counts: list[int] = []
    try:
        with opener(index, "rb") as fh:
            for lineno, line in enumerate(fh, 1):
                head = line.split(b":", 1)[0]
                if not head.strip():
                    continue
                if not head.isdigit():
                    raise InputError(f"{index}: line {lineno} is not 'offset:page_id:title'")
                offset = int(head)
                if offsets and offset == offsets[-1]:
                    counts[-1] += 1
                elif offsets and offset < offsets[-1]:
                    raise InputError(f"{index}: line {lineno}: offsets go backwards; not an index of {dump.name}")
                else:
                    offsets.append(offset)
                    counts.append(1)
    except EOFError:
        raise InputError(f"{index}: the index file is truncated") from None
    if offsets and offsets[-1] >= size:
        raise InputError(f"{index}: offset {offsets[-1]} is past the end of {dump} ({size} bytes)")
    ends = offsets[1:] + [size]
    return [Stream(o, e - o, n) for o, e, n in zip(offsets, ends, counts)]


def read_stream(path: Path, stream: Stream) -> list[RawPage]:
    """The pages of one stream; pages the index promises but a truncated or broken stream lacks come back as
    ``RawPage(problem=...)`` so the caller can count them."""
    with open(path, "rb") as fh:
        fh.seek(stream.offset)
        data = fh.read(stream.length)
    dec = bz2.BZ2Decompressor()
    try:
        xml = dec.decompress(data)
    except OSError:
        return [RawPage(title="", problem="invalid_xml") for _ in range(stream.pages)]
    end = xml.rfind(b"</mediawiki>")
    if end >= 0:
        xml = xml[:end]
    parser = PageParser(wrap=True)
    try:
        pages = parser.feed(xml)
    except ET.ParseError:
        return [RawPage(title="", problem="invalid_xml") for _ in range(stream.pages)]
    problem = "truncated" if not dec.eof else "invalid_xml"
    pages.extend(RawPage(title="", problem=problem) for _ in range(stream.pages - len(pages)))
    return pages
