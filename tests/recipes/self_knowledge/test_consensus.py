"""Consensus reward, strict parsing and the group filter: hand-computed tables."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from knowrl.recipes.self_knowledge.consensus import (consensus_groups, consensus_rewards, filter_decision, group,
                                                     make_consensus_reward, parse_classification)

F, N = "feasible", "infeasible"  # N: not feasible

PARSE_CASES = [
    # the prefilled JSON completed: label read from task_class
    ('infeasible", "answer": null, "reason": "needs live data"}', (N, None)),
    # minimal object
    ('feasible"}', (F, None)),
    # text after the closing brace is allowed (the sampler ran on)
    ('feasible", "answer": "4"} and more text', (F, None)),
    # truncated before the closing brace: never guessed
    ('feasible", "answer": "Paris', (None, "invalid_json")),
    # a label outside the two classes
    ('maybe", "answer": null}', (None, "bad_task_class")),
    # case matters: the prompt names the exact values
    ('Feasible"}', (None, "bad_task_class")),
    # empty completion
    ("", (None, "invalid_json")),
]


@pytest.mark.parametrize(("completion", "expected"), PARSE_CASES)
def test_parse_classification(completion, expected):
    assert parse_classification(completion) == expected


def test_parse_without_prefix_needs_an_object():
    assert parse_classification('["feasible"]', prefix="") == (None, "not_an_object")  # a JSON list is not it
    assert parse_classification('{"task_class": "infeasible"}', prefix="") == (N, None)


GROUP_CASES = [
    # labels (None = unparseable) -> majority, rewards, consensus, margin
    ([F, F, F, N], F, [1, 1, 1, 0], 0.75, 0.5),            # clear majority
    ([N, N, N, N], N, [1, 1, 1, 1], 1.0, 1.0),             # unanimous
    ([F, F, N, N], None, [0, 0, 0, 0], 0.0, 0.0),          # tie: no majority, nobody rewarded
    ([F, None, None, N], None, [0, 0, 0, 0], 0.0, 0.0),    # tie among the parseable ones
    ([N, N, None, F], N, [1, 1, 0, 0], 0.5, 1 / 3),        # unparseable earns 0 and counts against consensus
    ([None, None, None, None], None, [0, 0, 0, 0], 0.0, 0.0),  # nothing parseable
    ([F, None, None, None], F, [1, 0, 0, 0], 0.25, 1.0),   # one parseable sample is its own majority
]


@pytest.mark.parametrize(("labels", "majority", "rewards", "consensus", "margin"), GROUP_CASES)
def test_group(labels, majority, rewards, consensus, margin):
    g = group("t", labels)
    assert g.majority == majority
    assert list(g.rewards) == rewards
    assert g.consensus == pytest.approx(consensus)
    assert g.margin == pytest.approx(margin)


def test_grouping_is_by_task_not_by_position():
    """Two tasks' samples interleaved and shuffled: the rewards follow each row's task, in batch order."""
    rows = [("a", F), ("a", F), ("a", N), ("b", N), ("b", N), ("b", F), ("b", N), ("a", F)]
    # a: F,F,N,F -> majority F; b: N,N,F,N -> majority N
    expected = {("a", F): 1.0, ("a", N): 0.0, ("b", N): 1.0, ("b", F): 0.0}
    rng = random.Random(3)
    for _ in range(5):
        rng.shuffle(rows)
        ids, labels = zip(*rows)
        assert consensus_rewards(ids, labels) == [expected[row] for row in rows]
    # grouping by position (first half / second half) would give different rewards for this order
    ids, labels = zip(*rows)
    assert set(consensus_groups(ids, labels)) == {"a", "b"}


def test_lengths_must_match():
    with pytest.raises(ValueError):
        consensus_rewards(["a"], [F, N])


FILTER_CASES = [
    # labels -> decision (band 0.2-0.8, min margin 0.25)
    ([F, F, F, N], "keep"),                  # mean reward 0.75, margin 0.5
    ([F, F, F, F], "unanimous"),             # every sample rewarded 1: zero advantage
    ([F, F, N, N], "tie"),
    ([None, None, None, None], "no_parseable"),
    ([F, F, F, F, F, F, F, N], "above_band"),   # 7/8 = 0.875 > 0.8 (SeRL's band drops it)
    ([F, F, F, N, N, None, None, None], "near_tie"),  # 3 vs 2: margin 0.2 < 0.25
]


@pytest.mark.parametrize(("labels", "decision"), FILTER_CASES)
def test_filter_decision(labels, decision):
    assert filter_decision(group("t", labels), 0.2, 0.8, 0.25) == decision


def test_filter_band_edges():
    # 2 of 10 samples agree (the rest unparseable): mean reward exactly 0.2 is inside the band ...
    assert filter_decision(group("t", [F, F] + [None] * 8), 0.2, 0.8, 0.25) == "keep"
    # ... one of 10 is below it
    assert filter_decision(group("t", [F] + [None] * 9), 0.2, 0.8, 0.25) == "below_band"


def test_trl_reward_function_counts_unparseable():
    stats: Counter = Counter()
    reward = make_consensus_reward(stats=stats)
    assert reward.__name__ == "consensus_reward"  # TRL logs it by this name
    completions = [[{"role": "assistant", "content": text}] for text in
                   ('feasible"}', 'feasible"}', 'infeasible"}', 'feas')]
    assert reward(prompts=["p"] * 4, completions=completions, task_id=["t"] * 4) == [1.0, 1.0, 0.0, 0.0]
    assert stats == Counter({"parsed": 3, "unparseable/invalid_json": 1})


def test_docstring_examples():
    import doctest

    from knowrl.recipes.self_knowledge import consensus

    result = doctest.testmod(consensus)
    assert result.attempted >= 2 and result.failed == 0
