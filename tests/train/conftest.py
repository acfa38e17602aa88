"""Train-stage fixtures: the embedded tiny model converted once (on-disk cache in .cache/models), demo data with a
matching small KB, and one SFT and one GRPO run shared by the tests (real TRL steps on CPU, a few seconds each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse)

REPO = Path(__file__).resolve().parents[2]
MODEL_CACHE = REPO / ".cache" / "models"


class StopAfter:
    """A TrainerCallback that saves and stops after ``steps`` optimizer steps (a clean 'kill')."""

    def __new__(cls, steps: int):
        from transformers import TrainerCallback

        class _Stop(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step >= steps:
                    control.should_save = True
                    control.should_training_stop = True
                return control

        return _Stop()


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory, demo_corpus) -> dict:
    from knowrl.files import read_json
    from knowrl.train.demo import corpus_entries, make_boundary_demo

    answers = read_json(REPO / "config" / "demo" / "probe-table.json")["answers"]  # the embedded model's, measured
    return make_boundary_demo(corpus_entries(demo_corpus), tmp_path_factory.mktemp("demo"),
                              lambda questions: [answers[q] for q in questions], n_sft=8, n_rl=8, n_heldout=8,
                              seed=7, only=set(answers))


@pytest.fixture(scope="session")
def demo_kb(tmp_path_factory, demo_data, embedder_path) -> Path:
    from knowrl.kb import KBSettings, build_kb

    out = tmp_path_factory.mktemp("demo_kb") / "kb"
    build_kb(demo_data["corpus"], out, KBSettings(embedder=str(embedder_path)), show_progress=False)
    return out


@pytest.fixture(scope="session")
def make_config(tmp_path_factory, demo_kb, asset_store):
    """``make_config(*overrides)``: the smoke profile sized for tests, rule judge + embedding verifier + demo KB."""
    from knowrl.config import load_config

    scratch = tmp_path_factory.mktemp("judge")

    def build(*overrides: str) -> dict:
        base = [f"model.cache_dir={MODEL_CACHE}", f"assets.cache_dir={asset_store.root}",
                "sft.warmup_ratio=0", "sft.max_samples=8", "sft.max_steps=2", "sft.save_steps=1",
                "grpo.warmup_ratio=0", "grpo.max_steps=2", "grpo.save_steps=1", "grpo.per_device_batch_size=4",
                "grpo.num_generations=2", "grpo.max_completion_length=24", "grpo.learning_rate=0.0001",
                "judge.backend=rule", f"judge.cache={scratch / 'judge.sqlite'}", f"judge.log_dir={scratch}",
                "facts.verifier.backend=embedding", f"facts.kb_path={demo_kb}"]
        return load_config(profile="smoke", overrides=[*base, *overrides])

    return build


@pytest.fixture(scope="session")
def policy_dir(make_config) -> Path:
    from knowrl.train.models import resolve_policy

    return resolve_policy(make_config())


@pytest.fixture(scope="session")
def tokenizer(policy_dir, make_config):
    from knowrl.train.models import load_tokenizer

    return load_tokenizer(policy_dir, make_config())


@pytest.fixture(scope="session")
def sft_run(tmp_path_factory, make_config, demo_data, policy_dir) -> Path:
    from knowrl.train import sft

    return sft.main(make_config(), demo_data["coldstart"], tmp_path_factory.mktemp("sft") / "run")


def brevity_reward(completions, **kwargs):
    """A test-only reward with spread inside every group (a 2-step SFT'd tiny model rarely meets the format, so
    the project rewards alone give zero-spread groups and zero gradients): resume/determinism then compare real
    updates, not no-ops."""
    from knowrl.rewards.format import completion_text

    return [-len(completion_text(c)) / 100 for c in completions]


@pytest.fixture(scope="session")
def grpo_run(tmp_path_factory, make_config, demo_data, sft_run) -> Path:
    from knowrl.train import grpo

    return grpo.main(make_config(), demo_data["rl"], tmp_path_factory.mktemp("grpo") / "run", init=str(sft_run),
                     extra_reward_funcs=[brevity_reward])
