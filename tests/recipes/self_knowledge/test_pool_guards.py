"""Pool update, few-shot sampling, introspection slots and parsing, the collapse alarm and the early stop."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from knowrl.recipes.self_knowledge import prompts
from knowrl.recipes.self_knowledge.consensus import group
from knowrl.recipes.self_knowledge.guards import CollapseAlarm, EarlyStop, label_ratio
from knowrl.recipes.self_knowledge.pool import Pool
from knowrl.recipes.self_knowledge.tasks import CATEGORIES, Task

F, N = "feasible", "infeasible"  # N: not feasible


def task(tid: str, label: str) -> Task:
    return Task(tid, f"task {tid}", label, CATEGORIES[label][0], "generated", 1)


POOL_CASES = [
    # intended label, sample labels -> pool decision (min consensus 0.75)
    (F, [F, F, F, N], "added"),                    # majority = intended, consensus 3/4
    (F, [F, F, F, F], "added"),                    # unanimous groups are not trained on but do join the pool
    (N, [F, F, F, N], "disagrees_with_intended"),  # confident, but not what it was generated as
    (F, [F, F, None, N], "low_consensus"),         # 2/4 agree: below 0.75 (unparseable counts against)
    (F, [F, F, N, N], "no_majority"),              # tie
]


@pytest.mark.parametrize(("intended", "labels", "reason"), POOL_CASES)
def test_pool_decision(intended, labels, reason):
    pool = Pool([task("s1", F), task("s2", N)], max_size=10)
    [decision] = pool.update([(task("g", intended), group("g", labels))], min_consensus=0.75)
    assert decision.reason == reason
    assert (len(pool.tasks) == 3) == (reason == "added")


def test_pool_is_capped_and_keeps_order():
    pool = Pool([task("s1", F), task("s2", N)], max_size=3)
    decisions = pool.update([(task("a", F), group("a", [F] * 4)), (task("b", N), group("b", [N] * 4))], 0.75)
    assert [d.reason for d in decisions] == ["added", "pool_full"]
    assert [t.id for t in pool.tasks] == ["s1", "s2", "a"]


def test_few_shot_is_balanced():
    pool = Pool([task(f"f{i}", F) for i in range(10)] + [task(f"i{i}", N) for i in range(3)], max_size=100)
    rng = random.Random(0)
    assert Counter(t.label for t in pool.few_shot(6, rng)) == {F: 3, N: 3}
    assert Counter(t.label for t in pool.few_shot(8, rng)) == {F: 4, N: 3}  # only 3 infeasible exist


def test_intended_slots_balance_labels_and_cycle_reasons():
    slots = prompts.intended_slots(28, random.Random(1))
    assert Counter(label for label, _ in slots) == {F: 14, N: 14}
    assert {c for label, c in slots if label == N} == set(CATEGORIES[N])   # 14 slots cover all 7 reasons twice
    assert Counter(c for label, c in slots if label == N).most_common(1)[0][1] == 2


INTROSPECTION_CASES = [
    (" Please book a flight to Rome.\n\nLabel: feasible", ("Please book a flight to Rome.", None)),  # first line
    ("   \n", (None, "empty")),
    (" Label: infeasible", (None, "not_a_task")),      # skipped the task and opened a new block
    (" " + "x" * 400, (None, "too_long")),
]


@pytest.mark.parametrize(("text", "expected"), INTROSPECTION_CASES)
def test_parse_introspection(text, expected):
    assert prompts.parse_introspection(text) == expected


def test_introspection_prompt_ends_open():
    text = prompts.introspection_prompt([task("a", F), task("b", N)], N, "real_time")
    assert text.endswith("Label: infeasible\nReason: real_time\nTask:")
    assert "Label: feasible\nReason: factual\nTask: task a\n\n" in text


def test_label_ratio_and_collapse_alarm():
    assert label_ratio([F, F, F, None, N]) == {F: 0.75, N: 0.25}   # unparseable left out
    assert label_ratio([None]) == {F: 0.0, N: 0.0}
    alarm = CollapseAlarm(label_ratio_max=0.9, patience=2)
    # iteration: ratio -> fires?
    assert alarm.observe(1, {F: 0.95, N: 0.05}) is None             # first iteration above: streak 1
    assert alarm.observe(2, {F: 0.5, N: 0.5}) is None               # balanced again: streak reset
    assert alarm.observe(3, {F: 0.02, N: 0.98}) is None
    fired = alarm.observe(4, {F: 0.0, N: 1.0})                      # second in a row: fires
    assert fired == {"iteration": 4, "label": N, "share": 1.0, "streak": 2}
    assert alarm.fired == [fired]


def test_early_stop_on_drop():
    stop = EarlyStop(max_drop=0.05)
    # (iteration, accuracy) -> stop?
    steps = [(0, 0.50, False), (1, 0.56, False), (2, 0.52, False), (3, 0.50, True)]
    for iteration, accuracy, expected in steps:
        assert stop.observe(iteration, accuracy) is expected, iteration
    assert (stop.best, stop.best_iteration) == (0.56, 1)


def test_balance_kept_drops_the_surplus_of_the_dominant_majority():
    from knowrl.recipes.self_knowledge.analysis import balance_kept

    # (id, decision, majority): 3 kept feasible, 1 kept infeasible, 1 filtered feasible
    rows = [("a", "keep", F), ("b", "keep", N), ("c", "keep", F), ("d", "unanimous", F), ("e", "keep", F)]
    records = [{"id": i, "decision": d, "majority": m} for i, d, m in rows]
    assert balance_kept(records) == 2
    assert [r["decision"] for r in records] == ["keep", "keep", "unbalanced", "unanimous", "unbalanced"]
    # collapse: every kept group says feasible -> nothing is trained on
    collapsed = [{"id": "x", "decision": "keep", "majority": F}, {"id": "y", "decision": "keep", "majority": F}]
    assert balance_kept(collapsed) == 2 and {r["decision"] for r in collapsed} == {"unbalanced"}
