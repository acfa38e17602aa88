"""The versioned seed and held-out sets and the task loader's one-line errors."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from knowrl.errors import InputError
from knowrl.recipes.self_knowledge.dedup import Deduplicator
from knowrl.recipes.self_knowledge.tasks import CATEGORIES, load_tasks, majority_share

DATA = Path(__file__).resolve().parents[3] / "config" / "self_knowledge"


def test_seed_set_is_balanced_and_covers_the_taxonomy():
    seed = load_tasks(DATA / "seed-v1.jsonl", "seed")
    assert Counter(t.label for t in seed) == {"feasible": 50, "infeasible": 50}
    for label, categories in CATEGORIES.items():
        counts = Counter(t.category for t in seed if t.label == label)
        assert set(counts) == set(categories), label            # every reason / kind appears
        assert min(counts.values()) >= 6, counts                 # and none is a token entry


def test_heldout_is_balanced_and_disjoint_from_seed():
    seed = load_tasks(DATA / "seed-v1.jsonl", "seed")
    heldout = load_tasks(DATA / "heldout-v1.jsonl", "heldout")
    assert Counter(t.label for t in heldout) == {"feasible": 30, "infeasible": 30}
    assert {c for t in heldout for c in [t.category]} == {c for cats in CATEGORIES.values() for c in cats}
    assert not {t.id for t in seed} & {t.id for t in heldout}
    dedup = Deduplicator(0.7, (t.task for t in seed))
    near = [(t.task, dedup.check(t.task)) for t in heldout if dedup.is_duplicate(t.task)]
    assert near == []  # no held-out task is a near-copy of a seed task (the generated tasks' threshold)


BAD_LINES = [
    # (line, what the error names)
    ("not json", "not valid JSON"),
    ('{"id": "x", "task": "t", "label": "maybe", "category": "math"}', "label 'maybe'"),
    ('{"id": "x", "task": "t", "label": "feasible", "category": "real_time"}', "not a feasible category"),
    ('{"id": "x", "label": "feasible", "category": "math"}', "missing task"),
    ('["a list"]', "expected a JSON object"),
]


@pytest.mark.parametrize(("line", "message"), BAD_LINES)
def test_loader_errors_name_the_line(tmp_path, line, message):
    path = tmp_path / "tasks.jsonl"
    good = json.dumps({"id": "ok", "task": "What is 2 + 2?", "label": "feasible", "category": "math"})
    path.write_text(good + "\n" + line + "\n")
    with pytest.raises(InputError, match=message) as info:
        load_tasks(path, "seed")
    assert f"{path}:2" in str(info.value) and "\n" not in str(info.value)


def test_loader_needs_unique_ids_and_both_labels(tmp_path):
    row = {"id": "a", "task": "What is 2 + 2?", "label": "feasible", "category": "math"}
    path = tmp_path / "dup.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(InputError, match="duplicate task ids: a"):
        load_tasks(path, "seed")
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(InputError, match="no infeasible task"):
        load_tasks(path, "seed")
    with pytest.raises(InputError, match="does not exist"):
        load_tasks(tmp_path / "missing.jsonl", "seed")


def test_majority_share():
    assert majority_share(["feasible", "feasible", "infeasible"]) == pytest.approx(2 / 3)
    assert majority_share([]) == 0.0
