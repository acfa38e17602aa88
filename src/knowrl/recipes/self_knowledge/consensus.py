"""Self-analysis parsing, the consensus reward and the group filter (RECIPES B, steps 3-5).

Each task gets k sampled classifications, each a JSON object ``{"task_class": "feasible|infeasible", "answer":
..., "reason": ...}``. The consensus label of a task is the majority over its *parseable* samples (a tie has no
majority); a sample earns 1.0 when it agrees with its task's majority, else 0.0; an unparseable sample earns 0.0
and is counted by reason. Groups are formed by task id, never by position in a batch.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from knowrl.recipes.self_knowledge.tasks import LABELS

# the assistant turn opens with this prefix (prefilled), so the policy continues with the label
ANALYSIS_PREFIX = '{"task_class": "'


def parse_classification(completion: str, prefix: str = ANALYSIS_PREFIX) -> tuple[str | None, str | None]:
    """(label, None) or (None, reason): ``prefix + completion`` must start with one JSON object whose
    ``task_class`` is ``feasible`` or ``infeasible``. Text after the object is allowed (the sampler may run on
    past the closing brace); nothing inside the object is guessed.

    >>> parse_classification('infeasible", "answer": null, "reason": "needs live data"}')
    ('infeasible', None)
    >>> parse_classification('feasible", "answer": "Paris')
    (None, 'invalid_json')
    """
    text = (prefix + completion).lstrip()
    try:
        obj, _ = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError:
        return None, "invalid_json"
    if not isinstance(obj, dict):
        return None, "not_an_object"
    label = obj.get("task_class")
    if label not in LABELS:
        return None, "bad_task_class"
    return label, None


@dataclass(frozen=True)
class Group:
    """The consensus of one task's samples."""

    task_id: str
    labels: tuple[str | None, ...]  # per sample, None = unparseable
    majority: str | None            # None: no parseable sample, or a tie
    rewards: tuple[float, ...]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return len(self.labels)

    @property
    def mean_reward(self) -> float:
        return sum(self.rewards) / len(self.rewards) if self.rewards else 0.0

    @property
    def consensus(self) -> float:
        """Share of all k samples that agree with the majority (unparseable ones count against it)."""
        return self.counts.get(self.majority, 0) / self.k if self.majority else 0.0

    @property
    def margin(self) -> float:
        """(majority - minority) / parseable samples: 1.0 unanimous, 0.0 a tie."""
        parsed = sum(self.counts.values())
        if not parsed:
            return 0.0
        ordered = sorted(self.counts.values(), reverse=True) + [0]
        return (ordered[0] - ordered[1]) / parsed


def group(task_id: str, labels: Sequence[str | None]) -> Group:
    counts = Counter(label for label in labels if label is not None)
    ranked = counts.most_common()
    tie = len(ranked) > 1 and ranked[0][1] == ranked[1][1]
    majority = ranked[0][0] if ranked and not tie else None
    rewards = tuple(1.0 if majority is not None and label == majority else 0.0 for label in labels)
    return Group(task_id, tuple(labels), majority, rewards, dict(counts))


def consensus_groups(task_ids: Sequence[str], labels: Sequence[str | None]) -> dict[str, Group]:
    """``{task_id: Group}`` over a batch in any order (rows of one task may be scattered)."""
    if len(task_ids) != len(labels):
        raise ValueError(f"{len(task_ids)} task ids for {len(labels)} labels")
    rows: dict[str, list[str | None]] = defaultdict(list)
    for task_id, label in zip(task_ids, labels):
        rows[task_id].append(label)
    return {task_id: group(task_id, task_labels) for task_id, task_labels in rows.items()}


def consensus_rewards(task_ids: Sequence[str], labels: Sequence[str | None]) -> list[float]:
    """Per row: 1.0 if the row's label is its task's majority label, else 0.0 (batch order kept)."""
    groups = consensus_groups(task_ids, labels)
    return [1.0 if label is not None and label == groups[t].majority else 0.0 for t, label in zip(task_ids, labels)]


def filter_decision(g: Group, reward_low: float, reward_high: float, min_margin: float) -> str:
    """``keep`` or why the group gives no useful signal: ``no_parseable``, ``tie``, ``unanimous`` (every sample
    the same reward: zero advantage), ``near_tie`` (margin below ``min_margin``), ``below_band`` / ``above_band``
    (mean reward outside SeRL's band)."""
    if not g.counts:
        return "no_parseable"
    if g.majority is None:
        return "tie"
    if len(set(g.rewards)) == 1:
        return "unanimous"
    if g.margin < min_margin:
        return "near_tie"
    if g.mean_reward < reward_low:
        return "below_band"
    if g.mean_reward > reward_high:
        return "above_band"
    return "keep"


def make_consensus_reward(prefix: str = ANALYSIS_PREFIX, stats: Counter | None = None):
    """TRL reward function: each completion's agreement with its task's majority, grouped by the ``task_id``
    column. ``stats`` (if given) counts parsed and unparseable completions by reason."""

    def consensus_reward(prompts, completions, task_id, **kwargs) -> list[float]:
        texts = [c[0]["content"] if isinstance(c, list) else c for c in completions]
        parsed = [parse_classification(text, prefix) for text in texts]
        if stats is not None:
            stats.update("parsed" if label else f"unparseable/{reason}" for label, reason in parsed)
        return consensus_rewards(list(task_id), [label for label, _ in parsed])

    return consensus_reward
