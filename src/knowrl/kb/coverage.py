"""Coverage of the wanted titles (``--titles-from``) in a built KB: found directly, through a redirect, missing.

Computed from the finished ``kb.sqlite`` with the same resolver ``KnowledgeBase`` uses, so the report says exactly
what the reward's title lookups will find. Written beside the KB: ``coverage.json`` (counts and one row per
title) and ``missing_titles.txt`` (``title<TAB>reason``, one per line).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from knowrl.files import write_json_atomic, write_text_atomic
from knowrl.kb import store

COVERAGE, MISSING = "coverage.json", "missing_titles.txt"


def coverage(conn: sqlite3.Connection, titles: Sequence[str],
             explain: Callable[[str], str | None] | None = None) -> dict[str, Any]:
    """Counts and per-title rows; ``explain`` says why a missing title is missing when the KB alone cannot
    (e.g. a redirect loop in the dump, seen by the catalog of a filtered build)."""
    rows = []
    how = Counter()
    missing_reasons = Counter()
    disambiguation = 0
    for title in titles:
        res = store.resolve_title(conn, title)
        if res.page is None:
            reason = res.how if res.how != "missing" else ((explain(title) if explain else None) or "not_in_input")
            reason = "not_in_input" if reason == "missing" else reason
            missing_reasons[reason] += 1
            how["missing"] += 1
            rows.append({"title": title, "found": None, "how": reason})
            continue
        how[res.how] += 1
        meta = conn.execute("SELECT metadata FROM documents WHERE title = ?", (res.page,)).fetchone()[0]
        disambiguation += bool(json.loads(meta or "{}").get("disambiguation"))
        rows.append({"title": title, "found": res.page, "how": res.how})
    found = len(titles) - how["missing"]
    return {"requested": len(titles), "found": found, "direct": how["direct"],
            "case_insensitive": how["case_insensitive"], "via_redirect": how["redirect"],
            "missing": how["missing"], "missing_by_reason": dict(sorted(missing_reasons.items())),
            "found_disambiguation_pages": disambiguation,
            "found_share": round(found / len(titles), 4) if titles else 0.0, "titles": rows}


def write_coverage(folder: Path, report: dict[str, Any]) -> dict[str, Any]:
    """Write both files atomically; returns the counts (the report without its per-title rows)."""
    write_json_atomic(folder / COVERAGE, report)
    write_text_atomic(folder / MISSING, "".join(f"{r['title']}\t{r['how']}\n" for r in report["titles"]
                                                if r["found"] is None))
    return {k: v for k, v in report.items() if k != "titles"}
