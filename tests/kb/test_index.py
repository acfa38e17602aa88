"""Index planning by size and memory budget, and compressed indexes with exact re-ranking."""

from __future__ import annotations

import numpy as np
import pytest

from knowrl.kb.index import build_index, plan_index, search_index
from knowrl.kb.settings import IndexSettings


@pytest.mark.parametrize("n, budget_mb, expected", [
    (10_000, 4096, "flat"),            # small corpus: exact search
    (5_000_000, 16_384, "hnsw"),       # too big for brute force, graph fits
    (21_000_000, 16_384, "ivfsq8"),    # Wikipedia-sized: 8-bit codes fit, graph does not
    (21_000_000, 1_024, "ivfpq"),      # tight budget: product quantisation
])
def test_auto_plan(n, budget_mb, expected):
    plan = plan_index(n, 384, IndexSettings(memory_budget_mb=budget_mb))
    assert plan.type == expected
    assert expected == "ivfpq" or plan.bytes_estimate <= budget_mb * 2**20
    assert f"{n:,}" in plan.describe()


def test_forced_type_wins():
    assert plan_index(100, 384, IndexSettings(type="ivfpq")).type == "ivfpq"


def _clustered(n, dim=64, centres=50, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, dim))
    x = c[rng.integers(0, centres, n)] + 0.3 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("kind", ["hnsw", "ivfsq8", "ivfpq"])
def test_compressed_indexes_recall_with_rerank(kind):
    data = _clustered(6000)
    queries = _clustered(50, seed=1)
    settings = IndexSettings(type=kind, nprobe=16, pq_m=16, rerank=100, train_sample=6000)
    exact = build_index(data, plan_index(len(data), 64, IndexSettings(type="flat")), settings)
    _, truth = exact.search(queries, 10)
    index = build_index(data, plan_index(len(data), 64, settings), settings)
    _, got = search_index(index, data.astype(np.float16), queries, 10, settings.rerank)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, got)])
    assert recall >= 0.9, (kind, recall)
