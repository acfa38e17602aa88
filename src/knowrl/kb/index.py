"""FAISS index planning, building and searching over L2-normalised vectors (inner product = cosine).

The full-precision vectors live in an on-disk float16 file (``vectors.f16``, N x d), memory-mapped: it feeds
training and adding in chunks (so RAM stays bounded), title-restricted exact search, and exact re-ranking of the
candidates a compressed index returns.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from knowrl.kb.settings import IndexSettings

log = logging.getLogger(__name__)
FLAT_EXACT_LIMIT = 1_000_000        # above this brute force is too slow per query on a few cores
HNSW_LIMIT = 50_000_000
ADD_CHUNK = 65_536


@dataclass(frozen=True)
class IndexPlan:
    type: str
    n: int
    dim: int
    nlist: int = 0
    pq_m: int = 0
    pq_nbits: int = 8
    bytes_estimate: int = 0
    reason: str = ""

    def describe(self) -> str:
        mb = self.bytes_estimate / 2**20
        extra = f", nlist={self.nlist}" if self.nlist else ""
        extra += f", pq_m={self.pq_m}x{self.pq_nbits}bit" if self.pq_m else ""
        return (f"index plan: {self.type} for {self.n:,} x {self.dim}-d vectors{extra}: ~{mb:,.1f} MiB resident "
                f"({self.reason}); full vectors on disk: {self.n * self.dim * 2 / 2**20:,.1f} MiB float16")

    def as_dict(self) -> dict:
        return asdict(self)


def index_bytes(kind: str, n: int, dim: int, settings: IndexSettings, nlist: int, pq_m: int) -> int:
    """Resident size estimate per index type (vectors + ids/graph + coarse quantizer)."""
    per = {"flat": dim * 4, "hnsw": dim * 4 + settings.hnsw_m * 2 * 4 + 16,
           "ivfsq8": dim + 8, "ivfpq": pq_m + 8}[kind]
    coarse = nlist * dim * 4 if kind.startswith("ivf") else 0
    codebook = 256 * dim * 4 if kind == "ivfpq" else 0
    return n * per + coarse + codebook


def default_nlist(n: int, settings: IndexSettings) -> int:
    """About 4*sqrt(N), but at least 39 training points per list (FAISS warns below that)."""
    if settings.nlist:
        return max(1, min(settings.nlist, n))
    return max(1, min(int(4 * math.sqrt(n)), min(n, settings.train_sample) // 39))


def default_pq_m(dim: int, settings: IndexSettings) -> int:
    m = settings.pq_m or max(1, dim // 8)
    while dim % m:
        m -= 1
    return m


def plan_index(n: int, dim: int, settings: IndexSettings) -> IndexPlan:
    """Pick the most exact index that fits the memory budget (or the forced type)."""
    budget = settings.memory_budget_mb * 2**20
    nlist, pq_m = default_nlist(n, settings), default_pq_m(dim, settings)

    def make(kind: str, reason: str) -> IndexPlan:
        ivf = kind.startswith("ivf")
        # 8-bit PQ codebooks need >= 256 training points per sub-space; tiny corpora get fewer bits
        nbits = max(1, min(8, int(math.log2(max(2, min(n, settings.train_sample) // 39)))))
        return IndexPlan(kind, n, dim, nlist if ivf else 0, pq_m if kind == "ivfpq" else 0, nbits,
                         index_bytes(kind, n, dim, settings, nlist, pq_m), reason)

    if settings.type != "auto":
        return make(settings.type, "forced by kb.index.type")
    if n <= FLAT_EXACT_LIMIT and index_bytes("flat", n, dim, settings, nlist, pq_m) <= budget:
        return make("flat", "exact search fits the budget")
    if n <= HNSW_LIMIT and index_bytes("hnsw", n, dim, settings, nlist, pq_m) <= budget:
        return make("hnsw", "too many vectors for brute force; graph fits the budget")
    if index_bytes("ivfsq8", n, dim, settings, nlist, pq_m) <= budget:
        return make("ivfsq8", "8-bit scalar quantisation fits the budget")
    return make("ivfpq", "only product quantisation fits the budget")


def new_index(plan: IndexPlan, settings: IndexSettings):
    import faiss

    if plan.type == "flat":
        return faiss.IndexFlatIP(plan.dim)
    if plan.type == "hnsw":
        index = faiss.IndexHNSWFlat(plan.dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = max(40, settings.hnsw_m * 2)
        return index
    quantizer = faiss.IndexFlatIP(plan.dim)
    if plan.type == "ivfsq8":
        return faiss.IndexIVFScalarQuantizer(quantizer, plan.dim, plan.nlist, faiss.ScalarQuantizer.QT_8bit,
                                             faiss.METRIC_INNER_PRODUCT)
    return faiss.IndexIVFPQ(quantizer, plan.dim, plan.nlist, plan.pq_m, plan.pq_nbits, faiss.METRIC_INNER_PRODUCT)


def build_index(vectors: np.ndarray, plan: IndexPlan, settings: IndexSettings, seed: int = 0,
                progress=None):
    """Train (IVF) on a seeded sample, then add ``vectors`` (e.g. a memmap) in chunks."""
    index = new_index(plan, settings)
    if not index.is_trained:
        rng = np.random.default_rng(seed)
        size = min(len(vectors), settings.train_sample)
        rows = np.sort(rng.choice(len(vectors), size=size, replace=False))
        index.train(np.ascontiguousarray(vectors[rows], dtype=np.float32))
    for start in range(0, len(vectors), ADD_CHUNK):
        chunk = np.ascontiguousarray(vectors[start:start + ADD_CHUNK], dtype=np.float32)
        index.add(chunk)
        if progress is not None:
            progress.update(len(chunk))
    configure(index, settings)
    return index


def configure(index, settings: IndexSettings) -> None:
    """Apply search-time knobs (they are not always persisted by write_index)."""
    import faiss

    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = settings.hnsw_ef_search
    elif hasattr(index, "nprobe"):
        index.nprobe = settings.nprobe


def is_compressed(index) -> bool:
    import faiss

    return not isinstance(index, (faiss.IndexFlat, faiss.IndexHNSWFlat))


def search_index(index, vectors: np.ndarray | None, queries: np.ndarray, k: int,
                 rerank: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids); a compressed index returns ``max(k, rerank)`` candidates re-scored exactly."""
    if index.ntotal == 0:
        return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
    depth = min(index.ntotal, max(k, rerank) if (rerank and vectors is not None and is_compressed(index)) else k)
    scores, ids = index.search(np.ascontiguousarray(queries, dtype=np.float32), depth)
    if depth == k or vectors is None:
        return scores, ids
    out_s = np.full((len(queries), k), -np.inf, np.float32)
    out_i = np.full((len(queries), k), -1, np.int64)
    for row, (cand, q) in enumerate(zip(ids, queries)):
        cand = cand[cand >= 0]
        order = np.argsort(cand)                            # sorted reads from the memmap
        exact = vectors[cand[order]].astype(np.float32) @ q
        best = np.argsort(-exact)[:k]
        out_s[row, :len(best)] = exact[best]
        out_i[row, :len(best)] = cand[order][best]
    return out_s, out_i


def open_vectors(path: Path, n: int, dim: int, mode: str = "r") -> np.ndarray:
    if n == 0:
        return np.zeros((0, dim), np.float16)
    return np.memmap(path, dtype=np.float16, mode=mode, shape=(n, dim))
