"""Fact clean-up, the rule and judge decomposers, and the persistent cache."""

from __future__ import annotations

import pytest

from knowrl.facts import EmbeddingVerifier, Evidence, EvidenceRetriever, FactCache, JudgeDecomposer, RuleDecomposer
from knowrl.facts import VERIFIERS, clean_facts, fact_key
from knowrl.facts.cache import BoundedLRU
from knowrl.facts.settings import CacheSettings
from tests.facts.conftest import TinyKB


@pytest.mark.parametrize("facts, expected", [
    (["Paris is in France.", "paris is in  france"], ["Paris is in France."]),   # case/space-insensitive dedupe
    (["- The Moon orbits Earth.", "* It is big"], ["The Moon orbits Earth.", "It is big"]),  # bullets stripped
    (["Too short.", "Two words"], []),                                         # under 3 words dropped
    ([], []),                                                                  # nothing in, nothing out
])
def test_clean_facts(facts, expected):
    assert clean_facts(facts, 3) == expected


def test_fact_key():
    assert fact_key("The Moon.") == fact_key(" the  moon ") == "the moon"


def test_rule_decomposer():
    [r] = RuleDecomposer().decompose(["Okay, so the Moon orbits the Earth. Let me check that. Is it big?"])
    assert r.facts == ["The Moon orbits the Earth."] and not r.non_factual
    [empty] = RuleDecomposer().decompose(["Hmm? Let me think."])
    assert empty.facts == [] and empty.non_factual


class Boom:
    def decompose(self, texts):
        raise TimeoutError("judge timed out")

    def identity(self):
        return {"backend": "boom"}


def test_judge_decomposer_failure_is_per_call():
    out = JudgeDecomposer(Boom()).decompose(["a", "b"])
    assert [r.facts for r in out] == [None, None] and out[0].reason.startswith("judge_error: TimeoutError")


def test_cache_memory_and_disk(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = FactCache(path, memory_items=2)
    cache.put_many("verify", [("k1", {"s": 1}), ("k2", {"s": 2}), ("k3", [3])])
    assert cache.get_many("verify", ["k1", "k3", "zz"]) == {"k1": {"s": 1}, "k3": [3]}  # k1 from disk
    # k1 evicted by k3, then k2 by k1 read back from disk; bytes = len('[3]') + len('{"s": 1}')
    assert cache.stats()["verify"] == {"hits": 2, "misses": 1, "memory_items": 2, "memory_bytes": 11,
                                       "evictions": 2}
    cache.close()
    again = FactCache(path)
    assert again.get_many("verify", ["k2"]) == {"k2": {"s": 2}}                       # persisted
    assert FactCache(None).get_many("verify", ["k2"]) == {}                           # memory-only cache


# (max_items, max_bytes, puts as (key, size), keys kept (sorted), bytes held)
LRU_CASES = [
    (10, 100, [("a", 40), ("b", 40), ("c", 40)], ["b", "c"], 80),    # bytes bound: the oldest goes
    (2, 1000, [("a", 1), ("b", 1), ("c", 1)], ["b", "c"], 2),        # items bound
    (10, 100, [("a", 40), ("b", 40), ("a", 40), ("c", 40)], ["a", "c"], 80),  # re-put refreshes: b is oldest
    (10, 100, [("a", 40), ("big", 101)], ["a"], 40),                 # larger than the budget: not kept
    (10, 100, [("a", 40), ("a", 101)], [], 0),                       # ... and replaces no stale copy
    (0, 100, [("a", 1)], [], 0),                                     # no items allowed: nothing kept
]


@pytest.mark.parametrize("max_items, max_bytes, puts, kept, nbytes", LRU_CASES)
def test_bounded_lru(max_items, max_bytes, puts, kept, nbytes):
    lru = BoundedLRU(max_items, max_bytes)
    for key, size in puts:
        lru.put(key, key.upper(), size)
    assert sorted({k for k, _ in puts if k in lru}) == kept
    assert len(lru) == len(kept) and lru.nbytes == nbytes
    assert all(lru.get(k) == k.upper() for k in kept) and lru.get("zz") is None


def test_bounded_lru_get_refreshes_recency():
    lru = BoundedLRU(2, 100)
    lru.put("a", 1, 1)
    lru.put("b", 2, 1)
    lru.get("a")
    lru.put("c", 3, 1)
    assert "a" in lru and "b" not in lru and lru.evictions == 1


def test_cache_memory_front_is_bounded_in_bytes(tmp_path):
    passages = [{"passage_id": i, "title": "T", "text": "x" * 2000, "score": 1.0} for i in range(5)]
    cache = FactCache.from_settings(CacheSettings(path=str(tmp_path / "c.sqlite"), memory_items=1000,
                                                  memory_mb=0.05))  # ~52 KB: five 10 KB retrievals
    cache.put_many("retrieve", [(f"k{i}", passages) for i in range(20)])
    stats = cache.stats()["retrieve"]
    assert stats["memory_items"] == 5 and stats["evictions"] == 15 and stats["memory_bytes"] <= 0.05 * 2**20
    assert cache.get_many("retrieve", ["k0", "k19"]) == {"k0": passages, "k19": passages}  # k0 from disk
    assert FactCache(None, memory_items=1000, memory_mb=0.05).get_many("retrieve", ["k0"]) == {}


def test_title_lookups_are_bounded_in_bytes():
    kb = TinyKB({"Moon": ["The Moon is Earth's only natural satellite."]})
    retriever = EvidenceRetriever(kb, max_title_mb=1000 / 2**20)  # 1000 characters of titles
    for i in range(30):
        retriever.lookup(["Moon", f"Page {i:03d} " + "x" * 100])
    assert 1 <= len(retriever._lookups) <= 9 and retriever._lookups.nbytes <= 1000
    calls = kb.calls["titles"]
    retriever.lookup(["Moon", "Page 029 " + "x" * 100])  # the latest set is still remembered
    retriever.lookup(["Moon", "Page 000 " + "x" * 100])  # the first was evicted: asked again
    assert kb.calls["titles"] == calls + 1


def test_embedding_passage_memo_is_bounded_in_bytes(tiny_kb):
    verifier = EmbeddingVerifier(tiny_kb, threshold=0.9, max_cached_mb=3 * 64 * 4 / 2**20)  # three 64-d vectors
    passages = [Evidence(i, "T", f"passage number {i}", 1.0) for i in range(8)]
    verdicts = verifier.verify([(f"passage number {i}", [p]) for i, p in enumerate(passages)])
    assert all(v.supported for v in verdicts)
    assert len(verifier._passages) == 3 and verifier._passages.nbytes == 3 * 64 * 4


def test_every_verifier_says_what_it_measures():
    measures = {name: VERIFIERS.get(name).measure for name in VERIFIERS.names()}
    assert measures["embedding"] == "embedding-similarity (proxy, not entailment)"
    assert "entailment" in measures["nli"] and "proxy" not in measures["nli"] and "proxy" not in measures["llm"]
    assert len(set(measures.values())) == len(measures) and "unspecified" not in measures.values()


def test_embedding_identity_names_the_proxy(tiny_kb):
    identity = EmbeddingVerifier(tiny_kb).identity()
    assert identity["backend"] == "embedding" and identity["measure"].startswith("embedding-similarity (proxy")
