"""GRPO on CPU with the real tiny model and the project's rewards (rule judge, embedding verifier, demo KB)."""

from __future__ import annotations

import math

import pytest

from knowrl.artifact import verify_sums
from knowrl.files import read_json, read_jsonl
from tests.train.conftest import StopAfter, brevity_reward

STEP_KEYS = ("loss", "reward", "kl", "completions/mean_length", "completions/clipped_ratio", "frac_reward_zero_std",
             "policy/refusal_rate", "policy/answer_chars", "time/generation_s", "time/reward_s", "time/update_s")


def _rows(run):
    return [row for row in read_jsonl(run / "metrics.jsonl") if "loss" in row]


def test_grpo_outputs_sealed_with_reward_components(grpo_run):
    summary = read_json(grpo_run / "summary.json")
    assert summary["global_step"] == 2 and math.isfinite(summary["train_loss"])
    assert (grpo_run / "adapter" / "adapter_model.safetensors").is_file()
    assert verify_sums(grpo_run).ok and verify_sums(grpo_run / "checkpoint-1").ok
    record = read_json(grpo_run / "checkpoint-2" / "provenance.json")
    assert record["stage"] == "grpo" and record["data"]["rl_data"]["sha256"]
    assert record["data"]["sft_sums"]["sha256"] and record["start_policy"].endswith("merged")
    assert record["reward_card"]["card_sha256"]                      # the rewards stage's card
    assert record["reward_functions"][-1] == "brevity_reward"
    rows = _rows(grpo_run)
    assert [r["step"] for r in rows] == [1, 2]
    for row in rows:
        assert all(key in row for key in STEP_KEYS), sorted(set(STEP_KEYS) - set(row))
        assert math.isfinite(row["loss"]) and math.isfinite(row["reward"])
        components = [k for k in row if k.startswith("rewards/") and k.endswith("/mean")]
        assert components                                            # one mean per reward function
        assert row["time/generation_s"] > 0 and row["time/update_s"] > 0
        assert row["grad_norm"] > 0                                  # a real update (brevity reward spread)
    assert any(k.startswith("reward/") for k in rows[0])            # the scorer's step metrics
    trend = summary["reward_trend"]                                  # 2 steps: the first and the last one
    assert trend == {"steps_each": 1, "first": pytest.approx(rows[0]["reward"], abs=1e-4),
                     "last": pytest.approx(rows[1]["reward"], abs=1e-4)}


def test_reward_trend_means_first_and_last_third():
    from knowrl.train.grpo import _reward_trend

    assert _reward_trend([None, "n/a"]) is None
    trend = _reward_trend([0.0] * 10 + [5.0] * 10 + [1.0] * 10 + [None])
    assert trend == {"steps_each": 10, "first": 0.0, "last": 1.0}
    assert _reward_trend([1, 2, 3, 4, 5, 6])["steps_each"] == 2


def test_first_step_is_deterministic_and_resume_matches(grpo_run, make_config, demo_data, sft_run, tmp_path):
    """Same seed -> same first step; stopped after step 1 and resumed -> same step 2 and adapter."""
    from safetensors.torch import load_file

    from knowrl.train import grpo

    out = tmp_path / "run"
    grpo.main(make_config(), demo_data["rl"], out, init=str(sft_run), callbacks=[StopAfter(1)],
              extra_reward_funcs=[brevity_reward])
    reference = _rows(grpo_run)
    first = _rows(out)
    assert len(first) == 1
    for key in ("loss", "reward", "completions/mean_length"):
        assert first[0][key] == pytest.approx(reference[0][key], rel=1e-4, abs=1e-6), key
    grpo.main(make_config(), demo_data["rl"], out, init=str(sft_run), resume="auto",
              extra_reward_funcs=[brevity_reward])
    resumed = _rows(out)
    assert [r["step"] for r in resumed] == [1, 2]
    for key in ("loss", "reward", "completions/mean_length", "kl"):
        assert resumed[1][key] == pytest.approx(reference[1][key], rel=1e-3, abs=1e-6), key
    # real updates happened (the GRPO loss itself can be exactly 0 when all completions have equal length)
    assert all(r["grad_norm"] > 0 for r in resumed)
    mine = load_file(str(out / "adapter" / "adapter_model.safetensors"))
    theirs = load_file(str(grpo_run / "adapter" / "adapter_model.safetensors"))
    assert all((mine[k] - theirs[k]).abs().max() < 1e-5 for k in mine)
    assert verify_sums(out).ok
