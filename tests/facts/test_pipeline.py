"""The batched pipeline: de-duplication, caching across epochs, title pools, isolated failures."""

from __future__ import annotations

from knowrl.facts import EmbeddingVerifier, EvidenceRetriever, FactCache, FactPipeline, FactRequest, RuleDecomposer
from knowrl.facts import JudgeDecomposer, LLMVerifier
from tests.facts.conftest import PAGES, TinyKB

TEXT = "The Moon is Earth's only natural satellite. The Moon is made of green cheese."


def pipeline(kb, cache=None, dedupe=True, decomposer=None, verifier=None):
    return FactPipeline(decomposer or RuleDecomposer(), EvidenceRetriever(kb, k=2), verifier or
                        EmbeddingVerifier(kb, threshold=0.9), cache or FactCache(None), dedupe=dedupe,
                        kb_hash=kb.manifest_sha256)


def test_group_facts_verified_once(tiny_kb):
    p = pipeline(tiny_kb)
    results = p.score([FactRequest(TEXT, "Moon")] * 10)
    assert [(r.supported, len(r.verified)) for r in results] == [(1, 2)] * 10
    assert p.counts["facts"] == 20 and p.counts["unique_facts"] == 2
    assert tiny_kb.calls["search"] == 1 and tiny_kb.calls["queries"] == 2
    assert p.verifier.calls == 4                                  # 2 facts x k=2 passages
    undeduped = pipeline(TinyKB(PAGES), dedupe=False)
    undeduped.score([FactRequest(TEXT, "Moon")] * 10)
    assert undeduped.verifier.calls == 40


def test_second_epoch_hits_cache(tmp_path):
    class Judge:  # decomposes by sentence, counts calls
        calls = 0

        def decompose(self, texts):
            from knowrl.judge import Decomposition
            Judge.calls += len(texts)
            return [Decomposition([s for s in t.split(". ") if s]) for t in texts]

        def identity(self):
            return {"backend": "sentences"}

    path = tmp_path / "facts.sqlite"
    first = pipeline(TinyKB(PAGES), FactCache(path), decomposer=JudgeDecomposer(Judge()))
    first.score([FactRequest(TEXT, "Moon")])
    first.close()
    kb = TinyKB(PAGES)
    second = pipeline(kb, FactCache(path), decomposer=JudgeDecomposer(Judge()))
    [r] = second.score([FactRequest(TEXT, "Moon")])
    assert Judge.calls == 1 and kb.calls["search"] == 0 and second.verifier.calls == 0
    assert r.cached["decompose"] == 1 and r.cached["verify"] == 2 and r.supported == 1


def test_titles_missing_and_whole_kb_fallback(tiny_kb):
    p = pipeline(tiny_kb)
    some, none_found, no_title = p.score([FactRequest(TEXT, "Moon;Atlantis; ;Moon"), FactRequest(TEXT, "Atlantis"),
                                          FactRequest(TEXT, None)])
    assert some.titles_missing == ["Atlantis"] and not some.whole_kb
    assert none_found.titles_missing == ["Atlantis"] and none_found.whole_kb and no_title.whole_kb
    assert p.retriever.counts["titles_missing"] == 2


def test_search_failure_isolated_to_its_fact():
    kb = TinyKB(PAGES, fail_on="cheese")
    [r] = pipeline(kb).score([FactRequest(TEXT, "Moon")])
    reasons = {f.fact: f.reason for f in r.facts}
    assert reasons["The Moon is made of green cheese."] == "retrieval_failed"
    assert r.supported == 1 and len(r.verified) == 1


def test_empty_kb_hit_is_unsupported():
    kb = TinyKB({})
    [r] = pipeline(kb).score([FactRequest(TEXT, "Moon")])
    assert [f.reason for f in r.facts] == ["no_evidence", "no_evidence"] and r.supported == 0


def test_llm_verifier_via_judge(tiny_kb):
    class Judge:
        def verify(self, items):
            from knowrl.judge import VerifyResult
            return [VerifyResult("satellite" in it.fact) if "cheese" not in it.fact
                    else VerifyResult(None, "unparseable") for it in items]

        def identity(self):
            return {"backend": "v"}

    [r] = pipeline(tiny_kb, verifier=LLMVerifier(Judge())).score([FactRequest(TEXT, "Moon")])
    assert [f.supported for f in r.facts] == [True, None] and r.facts[1].reason == "unparseable"


def test_sentence_unit_decomposes_each_sentence_once(tiny_kb):
    class Judge:
        items = 0

        def decompose(self, texts):
            from knowrl.judge import Decomposition
            Judge.items += len(texts)
            return [Decomposition([t]) for t in texts]

        def identity(self):
            return {"backend": "echo"}

    p = FactPipeline(JudgeDecomposer(Judge()), EvidenceRetriever(tiny_kb, k=2), EmbeddingVerifier(tiny_kb, 0.9),
                     FactCache(None), unit="sentence")
    a = "The Moon is Earth's only natural satellite. The Moon is made of green cheese."
    b = "The Moon is made of green cheese. Paris is the capital of France."
    ra, rb = p.score([FactRequest(a, "Moon"), FactRequest(b, "Moon;Paris")])
    assert Judge.items == 3                                 # the shared sentence is decomposed once
    assert [f.fact for f in rb.facts] == ["The Moon is made of green cheese.", "Paris is the capital of France."]
    [again] = p.score([FactRequest(b + " The Moon is Earth's only natural satellite.", "Moon")])
    assert Judge.items == 3 and again.cached["decompose"] == 1   # every sentence from the cache


def test_embedding_verifier_without_passage_memo(tiny_kb):
    v = EmbeddingVerifier(tiny_kb, threshold=0.9, max_cached_passages=0)
    from knowrl.facts import Evidence
    passage = Evidence(2, "Paris", "Paris is the capital of France.", 1.0)
    [verdict] = v.verify([("Paris is the capital of France.", [passage])])
    assert verdict.supported and verdict.score > 0.99 and not v._passages
