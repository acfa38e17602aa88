"""Tasks with a feasibility label: the versioned seed and held-out sets, and the tasks the policy generates.

A task is ``{id, task, label, category}``; ``label`` is ``feasible`` or ``infeasible`` and ``category`` names the
kind of task (feasible) or the reason it cannot be done (infeasible, RECIPES B's taxonomy). The seed and held-out
files under ``config/self_knowledge/`` are written by hand for this project; the held-out set is never trained on.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from knowrl.errors import InputError

LABELS = ("feasible", "infeasible")
FEASIBLE_CATEGORIES = ("factual", "math", "writing", "coding", "reasoning", "language", "advice", "summarize")
# why a task cannot be done by a text-only assistant without tools (RECIPES B: the infeasibility taxonomy)
INFEASIBLE_CATEGORIES = ("real_time", "private_info", "physical_action", "perception", "future_event", "ill_posed",
                         "external_action")
CATEGORIES = {"feasible": FEASIBLE_CATEGORIES, "infeasible": INFEASIBLE_CATEGORIES}


@dataclass(frozen=True)
class Task:
    id: str
    task: str
    label: str          # the intended (seed, held-out, introspection) label
    category: str
    source: str = "seed"  # seed | heldout | generated
    iteration: int | None = None

    def record(self) -> dict:
        return asdict(self)


def check_task(record: object, where: str) -> Task:
    """One validated task; a bad record raises a one-line :class:`InputError` naming ``where``."""
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(record).__name__}")
    missing = [k for k in ("id", "task", "label", "category") if not str(record.get(k) or "").strip()]
    if missing:
        raise InputError(f"{where}: missing {', '.join(missing)}")
    label, category = record["label"], record["category"]
    if label not in LABELS:
        raise InputError(f"{where}: label {label!r} is not one of {', '.join(LABELS)}")
    if category not in CATEGORIES[label]:
        raise InputError(f"{where}: category {category!r} is not a {label} category ({', '.join(CATEGORIES[label])})")
    return Task(str(record["id"]), str(record["task"]).strip(), label, category,
                str(record.get("source") or "seed"), record.get("iteration"))


def task_file(path: str | Path) -> Path:
    """A task file path: as given when it exists, else relative to the project (the shipped ``config/...`` sets
    are found from any working directory, e.g. a workflow run with ``--directory``)."""
    from knowrl.config import config_dir

    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    shipped = config_dir().parent / path
    return shipped if shipped.exists() else path


def load_tasks(path: str | Path, source: str) -> list[Task]:
    """A labelled task file (JSONL, one task a line): every record checked, ids unique, both labels present."""
    path = task_file(path)
    if not path.is_file():
        raise InputError(f"task file {path} does not exist")
    tasks = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            task = check_task(record, f"{path}:{number}")
            tasks.append(Task(task.id, task.task, task.label, task.category, source))
    duplicates = [key for key, n in Counter(t.id for t in tasks).items() if n > 1]
    if duplicates:
        raise InputError(f"{path}: duplicate task ids: {', '.join(sorted(duplicates)[:5])}")
    missing = [label for label in LABELS if not any(t.label == label for t in tasks)]
    if missing:
        raise InputError(f"{path}: no {' or '.join(missing)} task (both classes are needed)")
    return tasks


def label_counts(labels: Iterable[str | None]) -> dict[str, int]:
    """``{feasible, infeasible, none}`` counts (``None`` = no label: unparseable or no majority)."""
    counts = Counter(label if label in LABELS else "none" for label in labels)
    return {key: counts.get(key, 0) for key in (*LABELS, "none")}


def majority_share(labels: Sequence[str]) -> float:
    """Share of the most common label among ``labels`` (1.0 = all one label; 0.0 for none)."""
    counts = Counter(labels)
    return max(counts.values()) / len(labels) if labels else 0.0
