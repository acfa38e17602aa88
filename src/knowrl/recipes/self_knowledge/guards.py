"""Guards against the known failure of consensus rewards: confident collapse onto one label (RECIPES B, pitfalls).

The label ratio of each iteration's self-analysis samples is logged and alarmed when one label exceeds
``label_ratio_max`` for ``patience`` iterations in a row; the accuracy on the verified guard set is tracked and the
loop stops early when it falls more than ``max_drop`` below the best seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from knowrl.recipes.self_knowledge.tasks import LABELS, label_counts


def label_ratio(labels: Sequence[str | None]) -> dict[str, float]:
    """Share of each label among the parseable labels (``{feasible: 0.0, infeasible: 0.0}`` when none parse)."""
    counts = label_counts(labels)
    parsed = sum(counts[label] for label in LABELS)
    return {label: counts[label] / parsed if parsed else 0.0 for label in LABELS}


@dataclass
class CollapseAlarm:
    """Fires when the dominant label's share stays above ``label_ratio_max`` for ``patience`` iterations."""

    label_ratio_max: float
    patience: int
    streak: int = 0
    fired: list[dict] = field(default_factory=list)

    def observe(self, iteration: int, ratio: dict[str, float]) -> dict | None:
        label, share = max(ratio.items(), key=lambda kv: kv[1])
        self.streak = self.streak + 1 if share > self.label_ratio_max else 0
        if self.streak >= self.patience:
            alarm = {"iteration": iteration, "label": label, "share": share, "streak": self.streak}
            self.fired.append(alarm)
            return alarm
        return None


@dataclass
class EarlyStop:
    """Stop when the guard accuracy falls more than ``max_drop`` (absolute, 0-1) below the best so far."""

    max_drop: float
    best: float | None = None
    best_iteration: int | None = None

    def observe(self, iteration: int, accuracy: float) -> bool:
        if self.best is None or accuracy > self.best:
            self.best, self.best_iteration = accuracy, iteration
            return False
        return self.best - accuracy > self.max_drop
