"""Fixtures of the agentic_rag tests: a small two-hop demo (from the real demo corpus), a real KB of its pages, the
embedded tiny model's tokenizer and a config sized for tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse)

REPO = Path(__file__).resolve().parents[3]
MODEL_CACHE = REPO / ".cache" / "models"


@pytest.fixture(scope="session")
def rag_demo(tmp_path_factory, demo_corpus) -> Path:
    from knowrl.recipes.agentic_rag.demo import make_demo

    out = tmp_path_factory.mktemp("rag_demo")
    make_demo(demo_corpus, out, n_train=8, n_heldout=4, n_distractors=20, seed=3)
    return out


@pytest.fixture(scope="session")
def rag_kb(tmp_path_factory, rag_demo, embedder_path) -> Path:
    from knowrl.kb import KBSettings, build_kb

    out = tmp_path_factory.mktemp("rag_kb") / "kb"
    build_kb(rag_demo / "corpus.jsonl", out, KBSettings(embedder=str(embedder_path)), show_progress=False)
    return out


@pytest.fixture(scope="session")
def make_config(asset_store, rag_demo, rag_kb):
    """``make_config(*overrides)``: the rag_smoke profile sized for tests, on the test demo and KB."""
    from knowrl.config import load_config

    def build(*overrides: str) -> dict:
        base = [f"model.cache_dir={MODEL_CACHE}", f"assets.cache_dir={asset_store.root}",
                f"agentic_rag.data.train={rag_demo / 'train.json'}",
                f"agentic_rag.data.heldout={rag_demo / 'heldout.json'}", f"agentic_rag.kb={rag_kb}",
                "grpo.init=null", "grpo.max_steps=1", "grpo.save_steps=1", "grpo.per_device_batch_size=4", "grpo.num_generations=2",
                "grpo.gradient_accumulation_steps=1", "grpo.max_completion_length=80",
                "agentic_rag.rollout.turn_tokens=16", "agentic_rag.rollout.observation_tokens=24"]
        return load_config(profile="rag_smoke", overrides=[*base, *overrides])

    return build


@pytest.fixture(scope="session")
def policy_dir(make_config) -> Path:
    from knowrl.train.models import resolve_policy

    return resolve_policy(make_config())


@pytest.fixture(scope="session")
def tokenizer(policy_dir, make_config):
    from knowrl.train.models import load_tokenizer

    tok = load_tokenizer(policy_dir, make_config())
    tok.padding_side = "left"
    return tok
