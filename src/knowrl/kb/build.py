"""Streaming, resumable, atomically published KB build.

Phases, each checkpointed in the build folder ``OUT.partial/``: (1) ingest: records -> passages -> SQLite + FTS5
in transactions of ``INGEST_CHUNK`` records, with the reader position saved in the same transaction; (2) encode:
passages in id order, chunk by chunk, into the float16 ``vectors.f16`` memmap (flushed before its checkpoint
commits); (3) index: FAISS trained/filled from the memmap; (4) manifest, then one rename to ``OUT``. A killed
build re-run with the same input and settings continues where the last checkpoint left off; anything else
starts over. Memory stays bounded by the chunk sizes, never by the corpus. A source may add steps around the
ingest (a Wikipedia dump: selecting the pages wanted by ``titles``, then copying the redirects that lead to
them); with ``titles`` the build also writes a coverage report (``knowrl.kb.coverage``).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from knowrl.errors import InputError, KnowRLError
from knowrl.files import read_json, sha256_file, sha256_json, write_json_atomic
from knowrl.kb import store
from knowrl.kb.coverage import COVERAGE, MISSING, coverage, write_coverage
from knowrl.kb.embedder import EMBED_TEMPLATE, Embedder, folder_sha256
from knowrl.kb.index import build_index, open_vectors, plan_index
from knowrl.kb.passages import PassageSplitter
from knowrl.kb.readers import EXPECTED_SKIPS, SKIP_REASONS
from knowrl.kb.settings import KBSettings
from knowrl.kb.titles import normalise_title

log = logging.getLogger(__name__)
FORMAT_VERSION = 1
INGEST_CHUNK = int(os.environ.get("KNOWRL_KB_INGEST_CHUNK", 2000))   # records per ingest transaction
DB, VECTORS, INDEX, MANIFEST, BUILD_STATE = "kb.sqlite", "vectors.f16", "index.faiss", "manifest.json", "build.json"
KILL_ENV = "KNOWRL_KB_KILL_AT"      # "phase:N" -> SIGKILL self after the N-th checkpoint of phase (tests)
Hook = Callable[[str, int], None]


def _kill_hook() -> Hook | None:
    spec = os.environ.get(KILL_ENV)
    if not spec:
        return None
    phase, _, count = spec.partition(":")

    def hook(current: str, n: int) -> None:
        if current == phase and n >= int(count):
            os.kill(os.getpid(), signal.SIGKILL)
    return hook


class Builder:
    """One build of ``source`` into ``out`` (see module docstring)."""

    def __init__(self, source, out: str | os.PathLike, settings: KBSettings, *, strict: bool = False,
                 force: bool = False, hook: Hook | None = None, show_progress: bool = True,
                 titles: list[str] | None = None):
        self.source = source
        self.titles = titles
        # a source that selects pages itself (a dump: through redirects) gets the titles; others are filtered here
        self.keep = None if titles is None or hasattr(source, "prepare") else _title_filter(titles)
        self.out = Path(out)
        self.work = self.out.with_name(self.out.name + ".partial")
        self.settings = settings
        self.strict = strict
        self.force = force
        self.hook = hook or _kill_hook()
        self.show_progress = show_progress
        self.embedder = Embedder(settings.embedder_path(), settings.device, settings.embed_batch_size)
        self.timings: dict[str, float] = {}
        self.coverage: dict[str, Any] | None = None

    # -- orchestration -------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        if (self.out / MANIFEST).exists() and not self.force:
            raise KnowRLError(f"{self.out} already holds a KB; use --force to replace it")
        fingerprint = self.ingest()
        conn = store.connect(self.work / DB)
        try:
            n = store.get_state(conn, "next_passage", 0)
            plan = plan_index(n, self.embedder.dim, self.settings.index)
            print(plan.describe(), file=sys.stderr)
            self._timed("encode", self._encode, conn, n)
            self._timed("index", self._index, conn, n, plan)
            self._finish_db(conn)
            counts = self._counts(conn)
        finally:
            conn.close()
        manifest = self._manifest(fingerprint, counts, plan)
        write_json_atomic(self.work / MANIFEST, manifest)
        if hasattr(self.source, "cleanup"):
            self.source.cleanup(self.work)
        self._publish()
        return manifest

    def ingest(self) -> dict[str, Any]:
        """The text side of the build (the source's selection steps, phase 1, the coverage report), resumable
        like ``run``, which calls it first; returns the build fingerprint. Alone, it times text extraction
        without the embedding (benchmarks)."""
        fingerprint = self._fingerprint()
        self._prepare(fingerprint)
        if hasattr(self.source, "prepare"):
            self._timed("select", self.source.prepare, self.work, self._bar, self.hook)
        conn = store.connect(self.work / DB)
        try:
            self._timed("load_model", lambda: self.embedder.model)
            self._timed("ingest", self._ingest, conn)
            self._after_ingest(conn)
        finally:
            conn.close()
        return fingerprint

    def _timed(self, name: str, fn, *args) -> None:
        start = time.perf_counter()
        fn(*args)
        self.timings[name] = round(time.perf_counter() - start, 3) + self.timings.get(name, 0.0)

    def _fingerprint(self) -> dict[str, Any]:
        fingerprint = {"format_version": FORMAT_VERSION, "source": self.source.identity(),
                       "settings": self.settings.build_fingerprint(),
                       "embedder_sha256": folder_sha256(str(self.embedder.path)), "template": EMBED_TEMPLATE}
        if self.titles is not None:
            fingerprint["titles_sha256"] = sha256_json(self.titles)
        return fingerprint

    def _prepare(self, fingerprint: dict[str, Any]) -> None:
        state_file = self.work / BUILD_STATE
        if state_file.exists() and read_json(state_file).get("fingerprint") == fingerprint:
            log.info("resuming the build in %s", self.work)
            return
        if self.work.exists():
            log.info("discarding %s (different input or settings)", self.work)
            shutil.rmtree(self.work)
        self.work.mkdir(parents=True)
        write_json_atomic(state_file, {"fingerprint": fingerprint})

    def _checkpoint(self, conn, phase: str, n: int) -> None:
        conn.commit()
        if self.hook:
            self.hook(phase, n)

    def _bar(self, **kwargs):
        from knowrl.cli_common import progress

        return progress(disable=not self.show_progress, **kwargs)

    # -- phase 1: ingest -----------------------------------------------------------------------------
    def _ingest(self, conn) -> None:
        pos = store.get_state(conn, "ingest", {"seen": 0, "offset": 0, "line": 0, "done": False})
        if pos["done"]:
            return
        skipped: dict[str, int] = store.get_state(conn, "skipped", {})
        next_passage = store.get_state(conn, "next_passage", 0)
        splitter = PassageSplitter(self.embedder.tokenizer, self.settings.passage_tokens)
        chunks = 0
        with self._bar(desc="ingest", unit="doc", initial=pos["seen"]) as bar:
            for record in self.source.records(pos):
                reason = record.skip
                if record.redirect is not None:
                    store.add_redirect(conn, *record.redirect)
                if record.doc is not None and self.keep is not None and not self.keep(record.doc.title):
                    reason = "not_selected"
                elif record.doc is not None:
                    doc = record.doc
                    passages = doc.passages if doc.passages is not None else splitter.split(doc.text)
                    if not passages:
                        reason = "blank"
                    elif store.add_document(conn, doc.title, passages, doc.metadata, next_passage):
                        next_passage += len(passages)
                    else:
                        reason = "duplicate_title"
                if reason:
                    if self.strict and reason not in EXPECTED_SKIPS:
                        unit = getattr(self.source, "unit", "line")
                        raise InputError(f"{self.source.path}: {unit} {record.line}: bad record "
                                         f"({SKIP_REASONS[reason]}); without --strict it is skipped")
                    skipped[reason] = skipped.get(reason, 0) + 1
                pos = {"seen": pos["seen"] + 1, "offset": record.offset, "line": record.line, "done": False}
                bar.update(1)
                if pos["seen"] % INGEST_CHUNK == 0:
                    self._save_ingest(conn, pos, skipped, next_passage)
                    chunks += 1
                    self._checkpoint(conn, "ingest", chunks)
        pos["done"] = True
        self._save_ingest(conn, pos, skipped, next_passage)
        conn.commit()

    def _after_ingest(self, conn) -> None:
        """The source's last step (a filtered dump build copies its redirects), then the coverage report."""
        if not store.get_state(conn, "finished", False):
            if hasattr(self.source, "finish"):
                self.source.finish(conn)
            store.set_state(conn, "finished", True)
            conn.commit()
        if self.titles is not None:
            explain = getattr(self.source, "explain", None)
            self.coverage = write_coverage(self.work, coverage(conn, self.titles, explain))

    @staticmethod
    def _save_ingest(conn, pos: dict, skipped: dict, next_passage: int) -> None:
        store.set_state(conn, "ingest", pos)
        store.set_state(conn, "skipped", skipped)
        store.set_state(conn, "next_passage", next_passage)

    # -- phase 2: encode -----------------------------------------------------------------------------
    def _encode(self, conn, n: int) -> None:
        done = store.get_state(conn, "encoded", 0)
        if done >= n:
            return
        dim = self.embedder.dim
        path = self.work / VECTORS
        if not path.exists() or path.stat().st_size != n * dim * 2:
            with open(path, "wb") as fh:
                fh.truncate(n * dim * 2)
            done = 0
        vectors = open_vectors(path, n, dim, mode="r+")
        step = self.settings.embed_batch_size * 16
        batches = 0
        with self._bar(desc="encode", unit="passage", total=n, initial=done) as bar:
            while done < n:
                end = min(n, done + step)
                rows = conn.execute("SELECT d.title, p.text FROM passages p JOIN documents d USING(doc_id) "
                                    "WHERE p.passage_id >= ? AND p.passage_id < ? ORDER BY p.passage_id",
                                    (done, end)).fetchall()
                texts = [EMBED_TEMPLATE.format(title=t, text=x) for t, x in rows]
                vectors[done:end] = self.embedder.encode(texts).astype("float16")
                vectors.flush()
                bar.update(end - done)
                done = end
                store.set_state(conn, "encoded", done)
                batches += 1
                self._checkpoint(conn, "encode", batches)
        del vectors

    # -- phase 3: index ------------------------------------------------------------------------------
    def _index(self, conn, n: int, plan) -> None:
        import faiss

        if store.get_state(conn, "indexed", False) and (self.work / INDEX).exists():
            return
        vectors = open_vectors(self.work / VECTORS, n, self.embedder.dim)
        with self._bar(desc="index", unit="vec", total=n) as bar:
            index = build_index(vectors, plan, self.settings.index, progress=bar)
        tmp = self.work / (INDEX + ".tmp")
        faiss.write_index(index, str(tmp))
        os.replace(tmp, self.work / INDEX)
        store.set_state(conn, "indexed", True)
        conn.commit()

    def _finish_db(self, conn) -> None:
        """Merge FTS segments and fold the WAL back so the published DB is one read-only file."""
        conn.execute("INSERT INTO passages_fts(passages_fts) VALUES ('optimize')")
        conn.commit()
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.OperationalError as exc:
            raise KnowRLError(f"{self.work / DB} is open elsewhere ({exc}); close it and re-run to resume") from None

    # -- phase 4: manifest + publish -----------------------------------------------------------------
    def _counts(self, conn) -> dict[str, Any]:
        pos = store.get_state(conn, "ingest")
        skipped = store.get_state(conn, "skipped", {})
        docs = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        passages = conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        counts = {"input_records": pos["seen"], "kept": docs, "skipped": sum(skipped.values()),
                  "skipped_by_reason": dict(sorted(skipped.items())), "documents": docs, "passages": passages,
                  "redirects": conn.execute("SELECT COUNT(*) FROM redirects").fetchone()[0],
                  "disambiguation_pages": conn.execute(
                      "SELECT COUNT(*) FROM documents WHERE json_extract(metadata, '$.disambiguation')").fetchone()[0]}
        if counts["input_records"] != counts["kept"] + counts["skipped"]:
            raise KnowRLError(f"internal error: {counts['input_records']} records != kept + skipped")
        return counts

    def _manifest(self, fingerprint: dict, counts: dict, plan) -> dict[str, Any]:
        from knowrl.artifact import provenance

        files = {name: {"bytes": (self.work / name).stat().st_size, "sha256": sha256_file(self.work / name)}
                 for name in (DB, VECTORS, INDEX, COVERAGE, MISSING) if (self.work / name).exists()}
        extra: dict[str, Any] = {}
        if self.titles is not None:
            extra["coverage"] = self.coverage
        if hasattr(self.source, "report"):
            extra["source_report"] = self.source.report()
        return {"kind": "knowrl-kb", "format_version": FORMAT_VERSION, "complete": True, "counts": counts, **extra,
                "embedder": self.embedder.identity(), "settings": self.settings.build_fingerprint(),
                "source": fingerprint["source"], "index": plan.as_dict(), "files": files,
                "timings_s": self.timings, "fingerprint_sha256": sha256_json(fingerprint),
                "provenance": provenance()}

    def _publish(self) -> None:
        (self.work / BUILD_STATE).unlink(missing_ok=True)
        old = self.out.with_name(self.out.name + ".old")
        if self.out.exists():
            if old.exists():
                shutil.rmtree(old)
            os.replace(self.out, old)
        os.replace(self.work, self.out)
        if old.exists():
            shutil.rmtree(old)


def _title_filter(titles: Sequence[str]) -> Callable[[str], bool]:
    """Keep a record whose title a wanted title names: exactly, normalised, or case-insensitively."""
    exact = {t for title in titles for t in (title, normalise_title(title))}
    lower = {t.lower() for t in exact}
    return lambda title: title in exact or title.lower() in lower


def build_kb(input_path: str | os.PathLike, out: str | os.PathLike, settings: KBSettings | None = None,
             **kwargs: Any) -> dict[str, Any]:
    """Build a KB from any supported input (JSONL / JSON / demo dict, wikiextractor output, wiki-18 JSONL, a SQLite
    ``documents`` table, a MediaWiki XML dump); ``settings.titles_from`` keeps only the pages it names, with a
    coverage report. Returns the manifest."""
    from knowrl.kb.sources import open_source
    from knowrl.kb.titles import read_titles

    settings = settings or KBSettings()
    titles = read_titles(settings.titles_from) if settings.titles_from else None
    source = open_source(input_path, settings, titles=titles)
    return Builder(source, out, settings, titles=titles, **kwargs).run()


def import_upstream(db_path: str | os.PathLike, out: str | os.PathLike, settings: KBSettings | None = None,
                    **kwargs: Any) -> dict[str, Any]:
    """Build a KB from an upstream KnowRL ``knowledge_base.db`` (its passages kept as they are)."""
    from knowrl.kb.sources import UpstreamSource

    settings = settings or KBSettings()
    return Builder(UpstreamSource(db_path, settings.max_doc_chars), out, settings, **kwargs).run()
