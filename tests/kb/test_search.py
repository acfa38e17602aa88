"""Retrieval contract on a small KB: modes, title restriction, missing titles, fallback, batching."""

from __future__ import annotations

import pytest

from knowrl.kb import Hit, rrf, split_titles


@pytest.mark.parametrize("field, expected", [
    ("A;B; ;A", ["A", "B"]),          # strip, drop blanks, dedupe, keep order
    (" Moon ", ["Moon"]),             # single title
    ("", []),                         # empty field
    (None, []),                       # no field
])
def test_split_titles(field, expected):
    assert split_titles(field) == expected


def test_rrf_rewards_agreement():
    # 2 is second in both lists, so it beats 1 and 4 which only one list ranks first
    fused = rrf([[1, 2, 3], [4, 2, 5]], k=60)
    assert fused[0] == (2, pytest.approx(2 / 62))
    assert [p for p, _ in fused[1:3]] == [1, 4]            # ties broken by passage id
    assert {p for p, _ in fused} == {1, 2, 3, 4, 5}


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_modes_find_the_right_page(small_kb, mode):
    queries = ["Who developed the theory of relativity?", "capital of France Eiffel Tower",
               "highest mountain elevation"]
    results = small_kb.search(queries, k=3, mode=mode)
    assert [hits[0].title for hits in results] == ["Albert Einstein", "Paris", "Mount Everest"]
    for hits in results:
        assert all(isinstance(h, Hit) and h.text for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_title_restriction_limits_candidates(small_kb):
    # the query is about Paris, but candidates are restricted to the Moon and Sun pages
    hits = small_kb.search(["capital of France"], k=5, titles=[["Moon", "Sun"]], mode="hybrid")[0]
    assert hits and {h.title for h in hits} <= {"Moon", "Sun"}


def test_title_match_is_exact_then_case_insensitive_and_missing_counted(small_kb):
    before = dict(small_kb.stats)
    hits, missing = small_kb.passages_for_titles(["mount everest", "Atlantis", "Sun;Moon"])
    assert missing == ["Atlantis"]
    assert [h.title for h in hits][0] == "Mount Everest"
    assert {h.title for h in hits} == {"Mount Everest", "Sun", "Moon"}
    assert small_kb.stats["titles_missing"] == before["titles_missing"] + 1


def test_no_title_found_falls_back_to_whole_kb(small_kb):
    before = small_kb.stats["fallback_whole_kb"]
    batch = small_kb.search(["Guido van Rossum language", "Guido van Rossum language"], k=1,
                            titles=[["Atlantis"], None], mode="dense")
    assert batch[0][0].title == batch[1][0].title == "Python (programming language)"
    assert small_kb.stats["fallback_whole_kb"] == before + 1


def test_restricted_dense_is_exact_inner_product(small_kb):
    import numpy as np

    query = "craters on the lunar surface"
    hits = small_kb.search([query], k=10, titles=[["Moon"]], mode="dense")[0]
    q = small_kb.encode([query])[0]
    expected = [float(np.asarray(small_kb.vectors[h.passage_id], np.float32) @ q) for h in hits]
    assert [h.score for h in hits] == pytest.approx(expected, abs=1e-6)
    assert len(hits) == len(small_kb.passages_for_titles(["Moon"])[0])


def test_batched_equals_single(small_kb):
    queries = ["Nobel Prize in Physics", "ball of hot plasma", "tidally locked"]
    batched = small_kb.search(queries, k=3, mode="hybrid")
    single = [small_kb.search([q], k=3, mode="hybrid")[0] for q in queries]
    assert [[h.passage_id for h in hs] for hs in batched] == [[h.passage_id for h in hs] for hs in single]


def test_bm25_query_with_only_stopwords_or_symbols(small_kb):
    assert small_kb.search(["the of and", "?!"], k=3, mode="bm25") == [[], []]


def test_hybrid_pool_no_larger_than_k_is_returned_whole_without_encoding(small_kb, monkeypatch):
    """The KnowRL case of short pages: k passages from a pool of <= k need no ranking, so no query encoding."""
    pool, _ = small_kb.passages_for_titles(["Moon", "Sun"])
    assert 0 < len(pool) <= 5
    expected = {h.passage_id for h in pool}
    encoded = small_kb.search(["The Moon orbits the Earth."], k=len(pool), titles=[["Moon", "Sun"]], mode="dense")

    def no_encoding(texts):
        raise AssertionError("the query was encoded")

    monkeypatch.setattr(small_kb, "encode", no_encoding)
    before = small_kb.stats["whole_pool_unencoded"]
    hits = small_kb.search(["The Moon orbits the Earth."], k=5, titles=[["Moon", "Sun"]], mode="hybrid")[0]
    assert {h.passage_id for h in hits} == expected == {h.passage_id for h in encoded[0]}
    assert hits[0].title == "Moon"                                   # the BM25 match ranks first
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert small_kb.stats["whole_pool_unencoded"] == before + 1
