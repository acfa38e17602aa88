"""The real RL data against the vital KB: ``;``-split titles, lookup statistics, and scoring without errors."""

from __future__ import annotations

import json
from collections import Counter

from knowrl.facts import EvidenceRetriever, split_title_field
from knowrl.rewards import RewardScorer


def test_title_splitting_and_lookup_statistics(rl_data, vital_kb, record_property):
    rows = json.loads(rl_data.read_text(encoding="utf-8"))
    retriever = EvidenceRetriever(vital_kb)
    titles = [split_title_field(r["title"]) for r in rows]
    assert len(rows) == 3177 and all(1 <= len(t) <= 9 for t in titles)
    assert all(";" not in t and t == t.strip() and t for ts in titles for t in ts)
    lookups = [retriever.lookup(t) for t in titles]
    unique = {t for ts in titles for t in ts}
    found_unique = {t for lk in lookups for t in lk.found}
    stats = {
        "questions": len(rows),
        "titles": sum(len(t) for t in titles),
        "unique_titles": len(unique),
        "unique_titles_found": len(found_unique),
        "questions_with_a_page": sum(1 for lk in lookups if lk.found),
        "questions_whole_kb_fallback": sum(1 for lk in lookups if not lk.found),
        "titles_per_question": dict(sorted(Counter(len(t) for t in titles).items())),
    }
    record_property("rl_title_stats", json.dumps(stats))
    print("RL title lookup against the vital KB:", json.dumps(stats))
    assert stats["unique_titles_found"] > 0 and stats["questions_with_a_page"] > 0
    assert stats["questions_with_a_page"] + stats["questions_whole_kb_fallback"] == len(rows)


def test_rl_questions_score_without_errors(rl_data, vital_kb, tmp_path):
    rows = json.loads(rl_data.read_text(encoding="utf-8"))[:40]
    cfg = {"reward": {"variant": "paper"}, "facts": {"decomposer": "rule"}, "judge": {"backend": "rule",
                                                                                       "cache": None}}
    with RewardScorer.from_config(cfg, kb=vital_kb) as scorer:
        texts = [f"<think>The question asks: {r['question']} I recall that the answer is {r['answers']}. "
                 f"{r['title'].split(';')[0]} is a well-known topic.</think><answer>{r['answers']}</answer>"
                 for r in rows]
        outcomes = scorer.score(None, texts, question=[r["question"] for r in rows],
                                answers=[r["answers"] for r in rows], title=[r["title"] for r in rows])
        assert all(o.components["total"] is not None for o in outcomes)
        assert all(o.facts is not None and o.facts.facts is not None for o in outcomes)
        metrics = scorer.step_metrics()
    assert metrics["reward/correct/mean"] == 2.0 and metrics["reward/fact_scored_fraction"] == 1.0
