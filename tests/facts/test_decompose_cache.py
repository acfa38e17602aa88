"""Fact clean-up, the rule and judge decomposers, and the persistent cache."""

from __future__ import annotations

import pytest

from knowrl.facts import FactCache, JudgeDecomposer, RuleDecomposer, clean_facts, fact_key


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
    assert cache.stats()["verify"] == {"hits": 2, "misses": 1}
    cache.close()
    again = FactCache(path)
    assert again.get_many("verify", ["k2"]) == {"k2": {"s": 2}}                       # persisted
    assert FactCache(None).get_many("verify", ["k2"]) == {}                           # memory-only cache
