"""Export to the upstream KnowRL layout: SQLite ``documents(title PRIMARY KEY, text)``, passages joined by
``####SPECIAL####SEPARATOR####``, so tools written for the original ``knowledge_base.db`` keep working.
(Import is ``knowrl.kb.build.import_upstream``: it streams that table through the normal build.)"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from knowrl.files import atomic_path
from knowrl.kb import store
from knowrl.kb.build import DB
from knowrl.kb.sources import UPSTREAM_SEPARATOR


def export_upstream(kb_path: str | os.PathLike, out_db: str | os.PathLike) -> int:
    """Write the upstream DB atomically; returns the number of documents written."""
    src = store.connect(Path(kb_path) / DB, readonly=True)
    count = 0
    try:
        with atomic_path(out_db) as tmp:
            tmp.unlink()
            dst = sqlite3.connect(tmp)
            dst.execute("CREATE TABLE documents (title TEXT PRIMARY KEY, text TEXT)")
            docs = src.execute("SELECT doc_id, title FROM documents ORDER BY doc_id")
            batch = []
            for doc_id, title in docs:
                texts = [t for (t,) in src.execute(
                    "SELECT text FROM passages WHERE doc_id = ? ORDER BY passage_id", (doc_id,))]
                batch.append((title, UPSTREAM_SEPARATOR.join(texts)))
                if len(batch) >= 1000:
                    dst.executemany("INSERT INTO documents VALUES (?, ?)", batch)
                    count += len(batch)
                    batch = []
            dst.executemany("INSERT INTO documents VALUES (?, ?)", batch)
            count += len(batch)
            dst.commit()
            dst.close()
    finally:
        src.close()
    return count
