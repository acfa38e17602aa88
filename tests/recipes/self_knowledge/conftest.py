"""Recipe fixtures: the selfknow_smoke profile sized for tests, on the embedded tiny model (converted once into
the on-disk cache .cache/models), and small labelled task files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse)

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def small_sets(tmp_path_factory) -> dict[str, Path]:
    """3 + 3 seed tasks (the guard set) and 2 + 2 held-out tasks, from the versioned files."""
    from knowrl.recipes.self_knowledge.tasks import load_tasks

    folder = tmp_path_factory.mktemp("tasks")
    out = {}
    for name, per_label in (("seed", 3), ("heldout", 2)):
        tasks = load_tasks(REPO / "config" / "self_knowledge" / f"{name}-v1.jsonl", name)
        chosen = [t for label in ("feasible", "infeasible") for t in [x for x in tasks if x.label == label][:per_label]]
        out[name] = folder / f"{name}.jsonl"
        out[name].write_text("".join(json.dumps({k: v for k, v in t.record().items() if k in ("id", "task", "label",
                                                 "category")}) + "\n" for t in chosen))
    return out


@pytest.fixture(scope="session")
def make_config(asset_store, small_sets):
    from knowrl.config import load_config

    def build(*overrides: str) -> dict:
        base = [f"model.cache_dir={REPO / '.cache' / 'models'}", f"assets.cache_dir={asset_store.root}",
                f"self_knowledge.seed_set={small_sets['seed']}", f"self_knowledge.heldout_set={small_sets['heldout']}",
                "self_knowledge.eval.bootstrap_samples=100"]
        return load_config(profile="selfknow_smoke", overrides=[*base, *overrides])

    return build
