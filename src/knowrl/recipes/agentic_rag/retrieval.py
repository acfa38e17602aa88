"""The KB as the rollout's search engine: every search of a generation round in one ``KnowledgeBase.search`` call
(batched: one query encoding pass for dense / hybrid), or one call per search (the benchmark's baseline)."""

from __future__ import annotations

import time
from typing import Any


class KBRetriever:
    """``search(queries) -> [[(title, text), ...] per query]`` over the project's KB (bm25 | dense | hybrid)."""

    def __init__(self, kb: Any, mode: str = "bm25", k: int = 3, batched: bool = True):
        self.kb, self.mode, self.k, self.batched = kb, mode, k, batched
        self.stats = {"calls": 0, "queries": 0, "seconds": 0.0, "empty": 0}

    def search(self, queries: list[str]) -> list[list[tuple[str, str]]]:
        if not queries:
            return []
        began = time.perf_counter()
        if self.batched:
            hits = self.kb.search(queries, k=self.k, mode=self.mode)
            self.stats["calls"] += 1
        else:
            hits = [self.kb.search([q], k=self.k, mode=self.mode)[0] for q in queries]
            self.stats["calls"] += len(queries)
        self.stats["queries"] += len(queries)
        self.stats["empty"] += sum(not h for h in hits)
        self.stats["seconds"] += time.perf_counter() - began
        return [[(hit.title, hit.text) for hit in row] for row in hits]

    @classmethod
    def open(cls, kb_path: str, mode: str, k: int, batched: bool = True) -> "KBRetriever":
        from knowrl.kb import KnowledgeBase

        return cls(KnowledgeBase.open(kb_path), mode, k, batched)

    def close(self) -> None:
        self.kb.close()
