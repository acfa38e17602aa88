"""The few-shot pool: the verified seed tasks plus generated tasks that earned high consensus on their intended
label (RECIPES B, step 6). Introspection prompts draw their examples from it, balanced between the labels."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from knowrl.recipes.self_knowledge.consensus import Group
from knowrl.recipes.self_knowledge.tasks import LABELS, Task


@dataclass(frozen=True)
class PoolDecision:
    task_id: str
    added: bool
    reason: str   # added | low_consensus | disagrees_with_intended | no_majority | pool_full


def pool_decision(task: Task, g: Group, min_consensus: float, room: bool) -> PoolDecision:
    """Whether a generated task joins the pool: its majority must equal its intended label with a consensus
    (share of all k samples) of at least ``min_consensus``, and the pool must have room."""
    if g.majority is None:
        return PoolDecision(task.id, False, "no_majority")
    if g.majority != task.label:
        return PoolDecision(task.id, False, "disagrees_with_intended")
    if g.consensus < min_consensus:
        return PoolDecision(task.id, False, "low_consensus")
    if not room:
        return PoolDecision(task.id, False, "pool_full")
    return PoolDecision(task.id, True, "added")


class Pool:
    """Seed tasks first, then generated ones in the order they were added (capped at ``max_size``)."""

    def __init__(self, tasks: Iterable[Task], max_size: int):
        self.tasks: list[Task] = list(tasks)
        self.max_size = max_size

    def update(self, analysed: Sequence[tuple[Task, Group]], min_consensus: float) -> list[PoolDecision]:
        """Add the qualifying generated tasks; one decision per task, in order."""
        decisions = []
        for task, g in analysed:
            decision = pool_decision(task, g, min_consensus, len(self.tasks) < self.max_size)
            if decision.added:
                self.tasks.append(task)
            decisions.append(decision)
        return decisions

    def few_shot(self, n: int, rng: random.Random) -> list[Task]:
        """``n`` examples, half of each label (as far as the pool has them), in random order."""
        chosen: list[Task] = []
        for i, label in enumerate(LABELS):
            candidates = [t for t in self.tasks if t.label == label]
            want = n // 2 + (n % 2 if i == 0 else 0)
            chosen.extend(rng.sample(candidates, min(want, len(candidates))))
        rng.shuffle(chosen)
        return chosen
