"""A Wikipedia XML dump as a KB build source: pages -> records, in parallel, resumable, optionally filtered.

Full build: every page becomes one record (a document, a redirect stored in the KB's redirects table, or a skip
with its reason). With ``titles`` (``--titles-from``) the catalog (``knowrl.kb.catalog``) decides which pages to
extract first. With a multistream index, workers read whole streams themselves; without one the main process
decompresses and parses the XML and the workers convert the wikitext. Resume position: the number of pages
consumed, or (indexed) the stream and the page within it, so a killed build skips what it already stored.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from knowrl.errors import InputError
from knowrl.files import sha256_json
from knowrl.kb import dumppages
from knowrl.kb.catalog import Catalog
from knowrl.kb.dumppages import Converted, ConvertSettings, classify, ordered_map
from knowrl.kb.readers import Document, Record
from knowrl.kb.wikidump import find_index, iter_file_pages, read_index
from knowrl.kb.wikitext import CONVERTER_VERSION, link_targets

log = logging.getLogger(__name__)
CATALOG = "dump-catalog.sqlite"
STRIDE = 1 << 24                            # resume offset = stream position * STRIDE + pages done in that stream
STREAMS_PER_TASK = 4                        # ~400 pages per worker task
PAGES_PER_TASK = 200                        # without an index


def _chunks(items, size: int) -> Iterator[list]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


class DumpSource:
    """``enwiki-<date>-pages-articles[-multistream].xml[.bz2]`` (see module docstring)."""

    unit = "page"

    def __init__(self, path: str | Path, convert: ConvertSettings, *, titles: list[str] | None = None,
                 index: str | Path | None = None, processes: int = 1, neighbourhood: bool = False):
        from knowrl.kb.sources import file_identity

        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"dump not found: {self.path}")
        self.index = Path(index) if index else find_index(self.path)
        if self.index is not None and not self.index.is_file():
            raise InputError(f"multistream index not found: {self.index}")
        if neighbourhood and not titles:
            raise InputError("--link-neighbourhood needs --titles-from (the pages whose links to follow)")
        self.convert, self.titles, self.neighbourhood = convert, titles, neighbourhood
        self.processes = max(1, processes)
        self._identity = {"kind": "mediawiki_dump", **file_identity(self.path), "converter": CONVERTER_VERSION,
                          "index": file_identity(self.index) if self.index else None,
                          "titles_sha256": sha256_json(titles) if titles else None,
                          "link_neighbourhood": neighbourhood}
        self._streams = None
        self.catalog: Catalog | None = None

    def identity(self) -> dict[str, Any]:
        return dict(self._identity)

    @property
    def streams(self):
        if self._streams is None and self.index is not None:
            self._streams = read_index(self.index, self.path)
        return self._streams

    # -- selection (filtered builds) -------------------------------------------------------------------------
    def prepare(self, work: Path, bar: Callable, hook: Callable | None = None) -> None:
        if not self.titles:
            return
        self._bar = bar
        self.catalog = Catalog(work / CATALOG)
        for step, run in (("scan", self._scan), ("select", lambda: self.catalog.select_requested(self.titles)),
                          ("links", self._links if self.neighbourhood else None)):
            if run is None or self.catalog.done(step):
                continue
            self.catalog.restart(step)
            log.info("filtered build: %s", step)
            run()
            self.catalog.mark(step)
            if hook:
                hook(step, 1)

    def _scan(self) -> None:
        counts: Counter = Counter()
        with self._bar(desc="scan titles", unit="page") as bar:
            if self.streams is not None:
                tasks = [(str(self.path), group) for group in _chunks(self.streams, STREAMS_PER_TASK)]
                position = 0
                for result in ordered_map(dumppages.scan_streams, tasks, self.processes, None):
                    for pages in result:
                        self.catalog.add_scanned(pages, position, counts)
                        position += 1
                        bar.update(len(pages))
            else:
                for batch in _chunks(iter_file_pages(self.path), PAGES_PER_TASK):
                    self.catalog.add_scanned([classify(p) or Converted(" ".join(p.title.split()), "article")
                                              for p in batch], None, counts)
                    bar.update(len(batch))
        self.catalog.mark("scan_counts", dict(counts))

    def _links(self) -> None:
        wanted = self.catalog.wanted()
        with self._bar(desc="follow links", unit="page") as bar:
            if self.streams is not None:
                groups = _chunks(self.catalog.wanted_by_stream(), STREAMS_PER_TASK)
                tasks = [(str(self.path), [self.streams[pos] for pos, _ in g], frozenset().union(*(w for _, w in g)))
                         for g in groups]
                for result in ordered_map(dumppages.link_streams, tasks, self.processes, None):
                    for _, links in result:
                        self.catalog.add_links(links)
                        bar.update(1)
            else:
                for page in iter_file_pages(self.path):
                    if " ".join(page.title.split()) in wanted and classify(page) is None:
                        self.catalog.add_links(link_targets(page.text or ""))
                        bar.update(1)
        self.catalog.commit()

    # -- extraction ------------------------------------------------------------------------------------------
    def records(self, state: dict[str, Any]) -> Iterator[Record]:
        start, line = state.get("offset", 0), state.get("line", 0)
        if self.streams is not None:
            yield from self._indexed(start, line)
        else:
            yield from self._sequential(start, line)

    def _record(self, page: Converted, line: int, offset: int) -> Record:
        record = Record(line=line, offset=offset)
        if page.kind == "doc":
            record.doc = Document(title=page.title, passages=page.passages, metadata=page.metadata)
        elif page.kind == "redirect":
            record.skip = "redirect"
            if self.catalog is None:                    # a filtered build copies the useful ones at the end
                record.redirect = (page.title, page.target)
        else:
            record.skip = page.reason
        return record

    def _indexed(self, start: int, line: int) -> Iterator[Record]:
        if self.catalog is not None:
            plan = [(self.streams[pos], wanted) for pos, wanted in self.catalog.wanted_by_stream()]
        else:
            plan = [(stream, None) for stream in self.streams]
        first, skip = divmod(start, STRIDE)
        tasks = ((str(self.path), [s for s, _ in group],
                  None if group[0][1] is None else frozenset().union(*(w for _, w in group)))
                 for group in _chunks(plan[first:], STREAMS_PER_TASK))
        position = first
        for result in ordered_map(dumppages.convert_streams, tasks, self.processes, self.convert):
            for pages in result:
                for k, page in enumerate(pages):
                    if position == first and k < skip:
                        continue
                    line += 1
                    yield self._record(page, line, position * STRIDE + k + 1)
                position += 1

    def _sequential(self, start: int, line: int) -> Iterator[Record]:
        wanted = self.catalog.wanted() if self.catalog is not None else None
        verdicts: deque = deque()

        def tasks():
            for batch in _chunks(iter_file_pages(self.path, skip=start), PAGES_PER_TASK):
                judged = [classify(p) or (None if wanted is None or " ".join(p.title.split()) in wanted
                                          else Converted(" ".join(p.title.split()), "skip", reason="not_selected"))
                          for p in batch]
                verdicts.append(judged)
                yield [p for p, v in zip(batch, judged) if v is None]

        offset = start
        for converted in ordered_map(dumppages.convert_pages, tasks(), self.processes, self.convert):
            done = iter(converted)
            for verdict in verdicts.popleft():
                offset += 1
                line += 1
                yield self._record(verdict or next(done), line, offset)

    # -- after ingest ----------------------------------------------------------------------------------------
    def finish(self, conn) -> None:
        if self.catalog is not None:
            added = self.catalog.copy_redirects(conn)
            log.info("copied %d redirects that lead to KB pages", added)

    def explain(self, title: str) -> str | None:
        return self.catalog.explain(title) if self.catalog is not None else None

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {"multistream_index": self.index is not None, "processes": self.processes}
        if self.catalog is not None:
            out.update(self.catalog.summary())
        return out

    def cleanup(self, work: Path) -> None:
        if self.catalog is not None:
            self.catalog.close()
            self.catalog = None
        for suffix in ("", "-wal", "-shm"):
            (work / (CATALOG + suffix)).unlink(missing_ok=True)
