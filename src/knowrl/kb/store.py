"""The SQLite side of a KB: documents, passages with stable integer ids, and an FTS5 table for BM25.

Passages of one document get consecutive ids (``first_passage .. first_passage + n_passages - 1``), so a title
restriction is a rowid range, cheap both for FTS5 and for slicing the vector file. Redirects (title -> target
title, from a Wikipedia dump) are followed by every title lookup; KBs built before the table existed simply
have none.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from knowrl.kb.titles import Resolution, resolve

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id INTEGER PRIMARY KEY,
    title TEXT NOT NULL UNIQUE,
    title_lower TEXT NOT NULL,
    first_passage INTEGER NOT NULL,
    n_passages INTEGER NOT NULL,
    metadata TEXT
);
CREATE INDEX IF NOT EXISTS documents_title_lower ON documents(title_lower);
CREATE TABLE IF NOT EXISTS passages (
    passage_id INTEGER PRIMARY KEY,
    doc_id INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    title, text, content='', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS redirects (
    title TEXT PRIMARY KEY,
    title_lower TEXT NOT NULL,
    target TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS redirects_title_lower ON redirects(title_lower);
"""
STOPWORDS = frozenset(
    "a an and are as at be by for from has have he her his in is it its of on or she that the their they this "
    "to was were which who with what when where why how did does do not".split())
WORD_RE = re.compile(r"\w+", re.UNICODE)


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(SCHEMA)
    return conn


def get_state(conn: sqlite3.Connection, key: str, default=None):
    row = conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else default


def set_state(conn: sqlite3.Connection, key: str, value) -> None:
    conn.execute("INSERT OR REPLACE INTO state(key, value) VALUES (?, ?)", (key, json.dumps(value)))


def add_document(conn: sqlite3.Connection, title: str, passages: Sequence[str], metadata: dict,
                 next_passage: int) -> bool:
    """Insert one document and its passages unless the title exists (first wins); True if inserted."""
    cur = conn.execute(
        "INSERT INTO documents(title, title_lower, first_passage, n_passages, metadata) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(title) DO NOTHING",
        (title, title.lower(), next_passage, len(passages), json.dumps(metadata, ensure_ascii=False)))
    if cur.rowcount == 0:
        return False
    doc_id = cur.lastrowid
    rows = [(next_passage + i, doc_id, text) for i, text in enumerate(passages)]
    conn.executemany("INSERT INTO passages(passage_id, doc_id, text) VALUES (?, ?, ?)", rows)
    conn.executemany("INSERT INTO passages_fts(rowid, title, text) VALUES (?, ?, ?)",
                     [(pid, title, text) for pid, _, text in rows])
    return True


def fts_query(text: str) -> str | None:
    """A safe FTS5 OR-query of the words of ``text`` (stop words dropped); None if nothing is left."""
    words = [w for w in WORD_RE.findall(text.lower()) if w not in STOPWORDS]
    seen = list(dict.fromkeys(words))
    return " OR ".join(f'"{w}"' for w in seen) if seen else None


def range_clause(ranges: Sequence[tuple[int, int]]) -> tuple[str, list[int]]:
    """SQL restricting ``rowid`` to passage-id ranges (inclusive start, exclusive end)."""
    parts = " OR ".join("rowid BETWEEN ? AND ?" for _ in ranges)
    params = [v for start, end in ranges for v in (start, end - 1)]
    return f"({parts})", params


def bm25(conn: sqlite3.Connection, query: str, limit: int,
         ranges: Sequence[tuple[int, int]] | None = None) -> list[tuple[int, float]]:
    """(passage_id, score) best first; score = -bm25 so that higher is better, as for dense."""
    match = fts_query(query)
    if match is None:
        return []
    sql = "SELECT rowid, bm25(passages_fts, 2.0, 1.0) AS s FROM passages_fts WHERE passages_fts MATCH ?"
    params: list = [match]
    if ranges:
        clause, extra = range_clause(ranges)
        sql += f" AND {clause}"
        params += extra
    sql += " ORDER BY s LIMIT ?"
    return [(pid, -score) for pid, score in conn.execute(sql, [*params, limit])]


def passage_rows(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """passage_id -> (title, text) for the given ids."""
    ids = list(dict.fromkeys(int(i) for i in ids))
    out: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        sql = (f"SELECT p.passage_id, d.title, p.text FROM passages p JOIN documents d USING(doc_id) "
               f"WHERE p.passage_id IN ({marks})")
        out.update({pid: (title, text) for pid, title, text in conn.execute(sql, chunk)})
    return out


def add_redirect(conn: sqlite3.Connection, title: str, target: str) -> None:
    """Record a redirect (first wins, as for documents)."""
    conn.execute("INSERT OR IGNORE INTO redirects(title, title_lower, target) VALUES (?, ?, ?)",
                 (title, title.lower(), target))


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def _one(conn: sqlite3.Connection, sql: str, arg: str) -> str | None:
    row = conn.execute(sql, (arg,)).fetchone()
    return row[0] if row else None


def resolve_title(conn: sqlite3.Connection, title: str, redirects: bool = True) -> Resolution:
    """Which document a title means: exact / normalised title, the redirect chain, then case-insensitive."""
    def none(_: str) -> None:
        return None

    return resolve(
        title,
        page=lambda t: _one(conn, "SELECT title FROM documents WHERE title = ?", t),
        redirect=(lambda t: _one(conn, "SELECT target FROM redirects WHERE title = ?", t)) if redirects else none,
        page_ci=lambda t: _one(conn, "SELECT title FROM documents WHERE title_lower = ? ORDER BY doc_id LIMIT 1", t),
        redirect_ci=(lambda t: _one(conn, "SELECT title FROM redirects WHERE title_lower = ? ORDER BY rowid LIMIT 1",
                                    t)) if redirects else None)


def find_titles(conn: sqlite3.Connection, titles: Sequence[str], redirects: bool = True
                ) -> tuple[list[tuple[str, int, int]], list[str], list[Resolution]]:
    """Resolve titles (see ``resolve_title``): ([(page title, first, end)], missing, resolution per title)."""
    found: list[tuple[str, int, int]] = []
    missing: list[str] = []
    resolutions = []
    for title in titles:
        res = resolve_title(conn, title, redirects)
        resolutions.append(res)
        if res.page is None:
            missing.append(title)
            continue
        first, n = conn.execute("SELECT first_passage, n_passages FROM documents WHERE title = ?",
                                (res.page,)).fetchone()
        found.append((res.page, first, first + n))
    return found, missing, resolutions
