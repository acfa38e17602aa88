"""The selection catalog of a filtered dump build (``OUT.partial/dump-catalog.sqlite``, removed on publish).

A build with ``--titles-from`` first scans the dump for every main-namespace title and redirect (no wikitext
parsing), resolves the wanted titles against that (redirect chains included), optionally adds the pages those
link to, and only then extracts: the selected pages, from only the streams that hold them when the dump has a
multistream index. Everything lives on disk, so memory does not grow with the dump; each step is recorded, so a
killed build resumes after the last finished step.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from knowrl.kb.titles import MAX_REDIRECT_HOPS, Resolution, normalise_title, resolve

SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (title TEXT PRIMARY KEY, lower TEXT NOT NULL, stream INTEGER);
CREATE INDEX IF NOT EXISTS pages_lower ON pages(lower);
CREATE TABLE IF NOT EXISTS redirects (title TEXT PRIMARY KEY, lower TEXT NOT NULL, target TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS redirects_lower ON redirects(lower);
CREATE TABLE IF NOT EXISTS requested (title TEXT PRIMARY KEY, how TEXT NOT NULL, page TEXT);
CREATE TABLE IF NOT EXISTS selected (title TEXT PRIMARY KEY, origin TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
STEP_TABLES = {"scan": ("pages", "redirects"), "select": ("requested", "selected"), "links": ()}


class Catalog:
    def __init__(self, path: Path):
        self.path = path
        self.conn = sqlite3.connect(path)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA)

    # -- steps ---------------------------------------------------------------------------------------------
    def done(self, step: str) -> bool:
        return self.get(step) is not None

    def get(self, key: str, default=None):
        row = self.conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def mark(self, step: str, value=True) -> None:
        self.conn.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (step, json.dumps(value)))
        self.conn.commit()

    def restart(self, step: str) -> None:
        """Forget a step that did not finish (its rows are rebuilt from scratch)."""
        for table in STEP_TABLES[step]:
            self.conn.execute(f"DELETE FROM {table}")
        if step == "links":
            self.conn.execute("DELETE FROM selected WHERE origin = 'link'")
        self.conn.commit()

    # -- scan ----------------------------------------------------------------------------------------------
    def add_scanned(self, pages: Iterable, stream: int | None, counts: Counter) -> None:
        """Record the articles and redirects of a batch of classified pages (``dumppages.Converted``)."""
        for page in pages:
            counts["pages"] += 1
            if page.kind == "article":
                counts["articles"] += 1
                self.conn.execute("INSERT OR IGNORE INTO pages VALUES (?, ?, ?)",
                                  (page.title, page.title.lower(), stream))
            elif page.kind == "redirect":
                counts["redirects"] += 1
                self.conn.execute("INSERT OR IGNORE INTO redirects VALUES (?, ?, ?)",
                                  (page.title, page.title.lower(), page.target))
            else:
                counts[page.reason] += 1

    # -- selection -----------------------------------------------------------------------------------------
    def _one(self, sql: str, arg: str) -> str | None:
        row = self.conn.execute(sql, (arg,)).fetchone()
        return row[0] if row else None

    def resolve(self, title: str, case_insensitive: bool = True) -> Resolution:
        return resolve(
            title,
            page=lambda t: self._one("SELECT title FROM pages WHERE title = ?", t),
            redirect=lambda t: self._one("SELECT target FROM redirects WHERE title = ?", t),
            page_ci=(lambda t: self._one("SELECT title FROM pages WHERE lower = ? ORDER BY rowid LIMIT 1", t))
            if case_insensitive else None,
            redirect_ci=(lambda t: self._one("SELECT title FROM redirects WHERE lower = ? ORDER BY rowid LIMIT 1",
                                             t)) if case_insensitive else None)

    def select_requested(self, titles: Sequence[str]) -> None:
        for title in titles:
            res = self.resolve(title)
            self.conn.execute("INSERT OR REPLACE INTO requested VALUES (?, ?, ?)", (title, res.how, res.page))
            if res.page is not None:
                self.conn.execute("INSERT OR IGNORE INTO selected VALUES (?, 'requested')", (res.page,))
        self.conn.commit()

    def add_links(self, links: Iterable[str]) -> None:
        """Select the pages that links name (exact or normalised title, through redirects; no case folding)."""
        for link in links:
            res = self.resolve(normalise_title(link), case_insensitive=False)
            if res.page is not None:
                self.conn.execute("INSERT OR IGNORE INTO selected VALUES (?, 'link')", (res.page,))

    def commit(self) -> None:
        self.conn.commit()

    def wanted(self) -> frozenset[str]:
        return frozenset(t for (t,) in self.conn.execute("SELECT title FROM selected"))

    def wanted_by_stream(self) -> list[tuple[int, frozenset[str]]]:
        """(stream position, wanted titles in it) for the streams holding a selected page, in file order."""
        rows = self.conn.execute("SELECT p.stream, p.title FROM selected s JOIN pages p USING(title) "
                                 "ORDER BY p.stream, p.title")
        out: list[tuple[int, set[str]]] = []
        for stream, title in rows:
            if not out or out[-1][0] != stream:
                out.append((stream, set()))
            out[-1][1].add(title)
        return [(stream, frozenset(titles)) for stream, titles in out]

    def explain(self, title: str) -> str | None:
        """Why a requested title found no page in the dump (missing, redirect_loop, ...), if the catalog knows."""
        return self._one("SELECT how FROM requested WHERE title = ?", title)

    def summary(self) -> dict:
        origins = dict(self.conn.execute("SELECT origin, COUNT(*) FROM selected GROUP BY origin").fetchall())
        return {"scan": self.get("scan_counts", {}), "selected_pages": origins}

    # -- publish -------------------------------------------------------------------------------------------
    def copy_redirects(self, kb: sqlite3.Connection) -> int:
        """Copy into the KB every redirect whose chain ends at one of its documents (hop by hop, in SQL)."""
        kb.commit()
        kb.execute("ATTACH DATABASE ? AS cat", (str(self.path),))
        try:
            insert = "INSERT OR IGNORE INTO main.redirects(title, title_lower, target) " \
                     "SELECT r.title, r.lower, r.target FROM cat.redirects r "
            total = kb.execute(insert + "JOIN main.documents d ON d.title = r.target").rowcount
            for _ in range(MAX_REDIRECT_HOPS - 1):
                added = kb.execute(insert + "JOIN main.redirects k ON k.title = r.target").rowcount
                if added <= 0:
                    break
                total += added
            kb.commit()
        finally:
            kb.execute("DETACH DATABASE cat")
        return total

    def close(self) -> None:
        self.conn.close()
