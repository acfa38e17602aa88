"""What decides a fact's evidence and verdict is in its cache key, on real (small) SQLite + FAISS KBs:
the query names every title of the question, and a rebuilt KB never serves verdicts of the old one."""

from __future__ import annotations

import pytest

from knowrl.facts.pipeline import FactPipeline, FactRequest
from tests.kb.conftest import SMALL_DOCS, write_jsonl


class RecordingKB:
    """Wraps a real KnowledgeBase and records the queries it is asked (nothing else changes)."""

    def __init__(self, kb):
        self.kb, self.queries = kb, []
        self.manifest_sha256 = kb.manifest_sha256

    def search(self, queries, **kwargs):
        self.queries.extend(queries)
        return self.kb.search(queries, **kwargs)

    def __getattr__(self, name):
        return getattr(self.kb, name)


def _build(tmp_path, name, docs, kb_settings):
    from knowrl.kb import KnowledgeBase, build_kb

    out = tmp_path / name
    if not out.exists():
        build_kb(write_jsonl(tmp_path / f"{name}.jsonl", docs), out, kb_settings, show_progress=False)
    return KnowledgeBase.open(out)


def _pipeline(kb, cache_path, embedder_path):
    config = {"facts": {"decomposer": "rule", "verifier": {"backend": "embedding", "model": str(embedder_path)},
                        "cache": {"path": str(cache_path)}}}
    return FactPipeline.from_config(config, kb=kb, judge=None)


def test_query_names_every_title_of_the_question(small_kb, tmp_path, embedder_path):
    kb = RecordingKB(small_kb)
    with _pipeline(kb, tmp_path / "cache.sqlite", embedder_path) as pipeline:
        [result] = pipeline.score([FactRequest("The Eiffel Tower was built in 1889.", "Paris; Mount Everest; Atlantis")])
    assert kb.queries == ["Paris; Mount Everest; Atlantis The Eiffel Tower was built in 1889."]  # not only "Paris"
    assert result.titles_missing == ["Atlantis"] and not result.whole_kb
    assert {f.supported for f in result.facts} == {True}   # the Paris page states it


def test_rebuilt_kb_misses_the_old_verdicts(tmp_path, kb_settings, embedder_path):
    cache = tmp_path / "cache.sqlite"
    request = FactRequest("The Eiffel Tower was built in 1889.", "Paris")
    with _build(tmp_path, "a", SMALL_DOCS, kb_settings) as kb_a, _pipeline(kb_a, cache, embedder_path) as p:
        [first] = p.score([request])
        assert p.counts["verifications"] == 1
    with _build(tmp_path, "a", SMALL_DOCS, kb_settings) as same, _pipeline(same, cache, embedder_path) as p:
        p.score([request])      # the same KB opened again (a new process would): served from the cache
        assert p.counts["verifications"] == 0 and p.counts["verify_cache_hits"] == 1
    changed = [dict(d, text="Paris is a city. The Eiffel Tower opened to the public in 1901.")
               if d["title"] == "Paris" else d for d in SMALL_DOCS]
    with _build(tmp_path, "b", changed, kb_settings) as kb_b, _pipeline(kb_b, cache, embedder_path) as p:
        assert kb_b.manifest_sha256 != kb_a.manifest_sha256
        [second] = p.score([request])
        assert p.counts["verifications"] == 1 and p.counts["verify_cache_hits"] == 0  # re-verified
        assert p.counts["retrievals"] == 1                                             # re-retrieved
    assert first.facts[0].supported is True
    assert second.facts[0].passage_ids == first.facts[0].passage_ids  # same ids, other text: keys must differ


@pytest.mark.parametrize("other", ["verifier threshold", "verifier backend"])
def test_other_verifier_misses_the_old_verdicts(small_kb, tmp_path, embedder_path, other):
    cache = tmp_path / "cache.sqlite"
    request = FactRequest("Paris is the capital of France.", "Paris")
    with _pipeline(small_kb, cache, embedder_path) as p:
        p.score([request])
    config = {"facts": {"decomposer": "rule", "cache": {"path": str(cache)},
                        "verifier": {"backend": "embedding", "model": str(embedder_path), "threshold": 0.9}
                        if other == "verifier threshold" else {"backend": "llm"}}}
    from knowrl.judge import get_judge

    with get_judge({"backend": "rule", "cache": None}) as judge, \
            FactPipeline.from_config(config, kb=small_kb, judge=judge) as p:
        p.score([request])
        assert p.counts["verifications"] == 1 and p.counts["verify_cache_hits"] == 0
