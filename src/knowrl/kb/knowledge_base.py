"""Opening a published KB and retrieving from it (the ``kb`` contract of docs/ARCHITECTURE.md)."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowrl.errors import KnowRLError
from knowrl.files import read_json, sha256_file
from knowrl.kb import store
from knowrl.kb.build import DB, INDEX, MANIFEST, VECTORS
from knowrl.kb.embedder import Embedder
from knowrl.kb.index import configure, open_vectors, search_index
from knowrl.kb.settings import MODES, IndexSettings, SearchSettings


@dataclass(frozen=True)
class Hit:
    """One retrieved passage."""
    passage_id: int
    title: str
    text: str
    score: float


def split_titles(field: str | None) -> list[str]:
    """``"A;B; ;A"`` -> ``["A", "B"]``: the ``;``-joined title field of the RL data."""
    if not field:
        return []
    return list(dict.fromkeys(t.strip() for t in field.split(";") if t.strip()))


def rrf(rankings: Sequence[Sequence[int]], k: int) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion: score(d) = sum over rankings of 1 / (k + rank), rank from 1; best first."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, pid in enumerate(ranking, 1):
            scores[pid] = scores.get(pid, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def _embedder_folder(identity: dict) -> str:
    """The folder the KB was built with, or (KB moved to another machine) the embedded asset if its sha256
    matches: query vectors must come from exactly the model that made the passage vectors."""
    if Path(identity["path"]).is_dir():
        return identity["path"]
    from knowrl.assets import AssetStore
    from knowrl.kb.embedder import folder_sha256

    try:
        candidate = AssetStore().path("embedder")
    except KnowRLError:
        candidate = None
    if candidate is not None and folder_sha256(str(candidate.resolve())) == identity["sha256"]:
        return str(candidate)
    raise KnowRLError(f"the KB's embedding model {identity['path']} is not here and no local copy matches its "
                      f"sha256 {identity['sha256'][:12]}; pass embedder=PATH (the same model)")


class KnowledgeBase:
    """A read-only KB folder: ``kb.sqlite`` + ``vectors.f16`` + ``index.faiss`` + ``manifest.json``."""

    def __init__(self, path: Path, manifest: dict, *, device: str = "cpu", embedder: str | None = None,
                 search: SearchSettings | None = None, index_settings: IndexSettings | None = None):
        import faiss

        self.path = path
        self.manifest = manifest
        self.manifest_sha256 = sha256_file(path / MANIFEST)
        self.search_settings = search or SearchSettings()
        self.index_settings = index_settings or IndexSettings(**manifest["settings"]["index"])
        self._conn = store.connect(path / DB, readonly=True)
        self._redirects = store.has_table(self._conn, "redirects")     # KBs built before redirects have none
        self._lock = threading.Lock()
        counts, dim = manifest["counts"], manifest["embedder"]["dim"]
        self.vectors = open_vectors(path / VECTORS, counts["passages"], dim)
        flags = faiss.IO_FLAG_MMAP if manifest["index"]["type"].startswith("ivf") else 0  # lists stay on disk
        self.index = faiss.read_index(str(path / INDEX), flags)
        configure(self.index, self.index_settings)
        self._embedder = Embedder(embedder or _embedder_folder(manifest["embedder"]), device)
        self.stats = {"queries": 0, "titles_requested": 0, "titles_missing": 0, "titles_via_redirect": 0,
                      "fallback_whole_kb": 0, "whole_pool_unencoded": 0}

    @classmethod
    def open(cls, path: str | os.PathLike, *, device: str = "cpu", embedder: str | None = None,
             search: SearchSettings | None = None, verify: bool = False) -> "KnowledgeBase":
        """Open a complete KB; a folder without a complete manifest (a half-built KB) is refused."""
        path = Path(path)
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            hint = " (an interrupted build: re-run `knowrl kb build` to resume)" if path.name.endswith(
                ".partial") or Path(str(path) + ".partial").exists() else ""
            raise KnowRLError(f"{path} is not a complete KB: no {MANIFEST}{hint}")
        manifest = read_json(manifest_path)
        if manifest.get("kind") != "knowrl-kb" or not manifest.get("complete"):
            raise KnowRLError(f"{manifest_path} is not a complete knowrl KB manifest")
        for name, info in manifest["files"].items():
            file = path / name
            if not file.is_file() or file.stat().st_size != info["bytes"]:
                raise KnowRLError(f"{file} is missing or has the wrong size; the KB is damaged, rebuild it")
            if verify and sha256_file(file) != info["sha256"]:
                raise KnowRLError(f"{file} does not match its sha256 in the manifest")
        kb = cls(path, manifest, device=device, embedder=embedder, search=search)
        return kb

    # -- contract ------------------------------------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 embeddings with the KB's own model."""
        return self._embedder.encode(list(texts))

    def embedder_identity(self) -> dict:
        return dict(self.manifest["embedder"])

    def __len__(self) -> int:
        return int(self.manifest["counts"]["passages"])

    def _ranges(self, titles: Sequence[str]) -> tuple[list[tuple[int, int]], list[str]]:
        with self._lock:
            found, missing, resolutions = store.find_titles(self._conn, titles, self._redirects)
        self.stats["titles_requested"] += len(titles)
        self.stats["titles_missing"] += len(missing)
        self.stats["titles_via_redirect"] += sum(r.how == "redirect" for r in resolutions)
        ranges = list(dict.fromkeys((start, end) for _, start, end in found))
        return ranges, missing

    def _hits(self, scored: Sequence[tuple[int, float]]) -> list[Hit]:
        with self._lock:
            rows = store.passage_rows(self._conn, [pid for pid, _ in scored])
        return [Hit(int(pid), *rows[pid], float(score)) for pid, score in scored if pid in rows]

    def passages_for_titles(self, titles: Sequence[str]) -> tuple[list[Hit], list[str]]:
        """All passages of the given pages in page order (score 0): (passages, missing titles). A title that is a
        redirect gives its target's passages (``Hit.title`` is the target)."""
        ranges, missing = self._ranges(split_titles(";".join(titles)) if titles else [])
        ids = [pid for start, end in ranges for pid in range(start, end)]
        return self._hits([(pid, 0.0) for pid in ids]), missing

    def search(self, queries: Sequence[str], k: int | None = None,
               titles: Sequence[Sequence[str] | None] | None = None, mode: str | None = None) -> list[list[Hit]]:
        """Top-k passages per query; ``titles[i]`` restricts query i to those pages (missing ones skipped;
        none found -> whole KB). ``mode``: dense | bm25 | hybrid (reciprocal-rank fusion of both)."""
        k = k or self.search_settings.k
        mode = mode or self.search_settings.mode
        if mode not in MODES:
            raise KnowRLError(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}")
        if titles is not None and len(titles) != len(queries):
            raise KnowRLError(f"titles has {len(titles)} entries for {len(queries)} queries")
        self.stats["queries"] += len(queries)
        ranges = [self._query_ranges(titles[i] if titles is not None else None) for i in range(len(queries))]
        depth = k if mode != "hybrid" else max(k, self.search_settings.candidates)
        sparse = [self._bm25(q, r, depth) for q, r in zip(queries, ranges)] if mode != "dense" else None
        whole = [mode == "hybrid" and r is not None and sum(e - s for s, e in r) <= k for r in ranges]
        ranked = [i for i in range(len(queries)) if not whole[i]]
        dense: list = [None] * len(queries)
        if mode != "bm25" and ranked:
            for i, hits in zip(ranked, self._dense([queries[i] for i in ranked], [ranges[i] for i in ranked], depth)):
                dense[i] = hits
        self.stats["whole_pool_unencoded"] += sum(whole)
        results = []
        for i in range(len(queries)):
            if mode == "dense":
                scored = dense[i][:k]
            elif mode == "bm25":
                scored = sparse[i][:k]
            elif whole[i]:
                scored = self._whole_pool(ranges[i], sparse[i])
            else:
                fused = rrf([[p for p, _ in dense[i]], [p for p, _ in sparse[i]]], self.search_settings.rrf_k)
                scored = fused[:k]
            results.append(self._hits(scored))
        return results

    def _whole_pool(self, ranges, sparse: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """Hybrid search in a page pool no larger than k returns the whole pool whatever the ranking, so the
        query is not encoded: BM25 matches first, then the rest in page order, scored by that one fused list."""
        matched = [p for p, _ in sparse]
        seen = set(matched)
        order = matched + [p for s, e in ranges for p in range(s, e) if p not in seen]
        return rrf([order], self.search_settings.rrf_k)

    def _query_ranges(self, query_titles) -> list[tuple[int, int]] | None:
        if not query_titles:
            return None
        names = split_titles(query_titles) if isinstance(query_titles, str) else split_titles(";".join(query_titles))
        ranges, _ = self._ranges(names)
        if not ranges:
            self.stats["fallback_whole_kb"] += 1
            return None
        return ranges

    def _dense(self, queries, ranges, depth: int) -> list[list[tuple[int, float]]]:
        vecs = self.encode(queries)
        out: list[list[tuple[int, float]]] = [[] for _ in queries]
        free = [i for i, r in enumerate(ranges) if r is None]
        if free:
            scores, ids = search_index(self.index, self.vectors, vecs[free], depth, self.index_settings.rerank)
            for row, i in enumerate(free):
                out[i] = [(int(p), float(s)) for p, s in zip(ids[row], scores[row]) if p >= 0]
        for i, r in enumerate(ranges):
            if r is not None:
                out[i] = self._restricted_dense(vecs[i], r, depth)
        return out

    def _restricted_dense(self, vec: np.ndarray, ranges, depth: int) -> list[tuple[int, float]]:
        """Exact inner product over the pages' own passage vectors (what upstream does, minus re-encoding)."""
        ids = np.concatenate([np.arange(start, end) for start, end in ranges])
        mat = np.concatenate([np.asarray(self.vectors[start:end], dtype=np.float32) for start, end in ranges])
        scores = mat @ vec
        top = np.argsort(-scores, kind="stable")[:depth]
        return [(int(ids[j]), float(scores[j])) for j in top]

    def _bm25(self, query: str, ranges, depth: int) -> list[tuple[int, float]]:
        with self._lock:
            return store.bm25(self._conn, query, depth, ranges)

    def info(self) -> dict[str, Any]:
        m = self.manifest
        return {"path": str(self.path), "counts": m["counts"], "index": m["index"], "embedder": m["embedder"],
                "manifest_sha256": self.manifest_sha256}

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "KnowledgeBase":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
