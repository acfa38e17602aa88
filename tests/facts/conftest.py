"""Facts-test fixtures: a tiny in-memory KB that follows the kb contract (titles, search, encode)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest

from tests.kb.conftest import kb_settings, small_jsonl, small_kb  # noqa: F401  (real small KB fixtures, re-used)


@dataclass(frozen=True)
class Hit:
    passage_id: int
    title: str
    text: str
    score: float


class TinyKB:
    """Passages per title; search = word overlap; encode = bag-of-words hashed into 64 dims (L2-normalised)."""

    manifest_sha256 = "tiny"

    def __init__(self, pages: dict[str, list[str]], fail_on: str | None = None):
        self.passages = [(t, p) for t, ps in pages.items() for p in ps]
        self.fail_on = fail_on
        self.calls = Counter()

    def passages_for_titles(self, titles):
        self.calls["titles"] += 1
        lower = {t.lower() for t, _ in self.passages}
        missing = [t for t in titles if t.lower() not in lower]
        hits = [Hit(i, t, p, 0.0) for i, (t, p) in enumerate(self.passages) if t in titles]
        return hits, missing

    def search(self, queries, k=5, titles=None, mode="hybrid"):
        self.calls["search"] += 1
        self.calls["queries"] += len(queries)
        out = []
        for qi, q in enumerate(queries):
            if self.fail_on and self.fail_on in q:
                raise RuntimeError("search exploded")
            pool = titles[qi] if titles else None
            cands = [(i, t, p) for i, (t, p) in enumerate(self.passages) if not pool or t in pool]
            words = set(q.lower().split())
            scored = sorted(cands, key=lambda c: -len(words & set(c[2].lower().split())))
            out.append([Hit(i, t, p, 1.0) for i, t, p in scored[:k]])
        return out

    def encode(self, texts):
        self.calls["encode"] += len(texts)
        vecs = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for w in text.lower().replace(".", " ").split():
                vecs[row, hash(w) % 64] += 1
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.maximum(norms, 1e-9)

    def embedder_identity(self):
        return {"model": "bag-of-words"}

    def close(self):
        pass


PAGES = {
    "Moon": ["The Moon is Earth's only natural satellite.", "The Moon is tidally locked to Earth."],
    "Paris": ["Paris is the capital of France.", "The Eiffel Tower was built in 1889."],
}


@pytest.fixture
def tiny_kb():
    return TinyKB(PAGES)
