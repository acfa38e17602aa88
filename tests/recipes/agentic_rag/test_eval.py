"""Evaluation with and without retrieval on the tiny model (greedy, the same rollout), the report (core tables and
plots), the length alarm and the settings checks."""

from __future__ import annotations

import pytest

from knowrl.errors import ConfigError
from knowrl.files import read_jsonl


@pytest.mark.timeout(300)
def test_eval_with_and_without_retrieval_then_report(make_config, rag_demo, rag_kb, tmp_path):
    from knowrl.artifact import verify_sums
    from knowrl.recipes.agentic_rag.evaluate import run_eval, write_report

    config = make_config("agentic_rag.eval.max_questions=2", "agentic_rag.rollout.turn_tokens=12",
                         "agentic_rag.eval.bootstrap_samples=50")
    runs = {}
    for retrieval in (True, False):
        label = "retrieval" if retrieval else "no_retrieval"
        summary = run_eval(config, None, str(rag_demo / "heldout.json"), tmp_path / label, str(rag_kb),
                           retrieval=retrieval, label=label, batch_size=2)
        runs[label] = tmp_path / label
        assert summary["n"] == 2 and verify_sums(tmp_path / label).ok
        items = list(read_jsonl(tmp_path / label / "items.jsonl"))
        assert [i["id"] for i in items] == ["heldout-0000", "heldout-0001"]
        for name in ("em", "f1"):                                   # in %, a CI around the value
            fig = summary["figures"][name]
            assert 0 <= fig["ci_low"] <= fig["value"] <= fig["ci_high"] <= 100
        assert summary["figures"]["searches"]["value"] == sum(i["searches"] for i in items) / 2
        if not retrieval:
            assert all(i["searches"] == 0 and i["turns"] == 1 for i in items)   # one turn, never a search
    written = write_report(runs, tmp_path / "tables")
    table = (tmp_path / "tables" / "results.md").read_text()
    assert "| retrieval |" in table and "| no_retrieval |" in table and "searches / question" in table
    csv_rows = (tmp_path / "tables" / "results.csv").read_text().splitlines()
    assert len(csv_rows) == 1 + 2 * 3                                 # header + 2 rows x (EM, F1, searches)
    assert written[-1].stat().st_size > 1000                          # the bar plot was drawn


LENGTH_CASES = [
    ([100, 110, 120, 130], 3, 1.25, True),    # three rises, 1.3x over the window: alarm
    ([100, 110, 105, 130], 3, 1.25, False),   # one fall inside the window: no alarm
    ([100, 101, 102, 103], 3, 1.25, False),   # rising but slowly (1.03x): no alarm
    ([100, 130, 160], 3, 1.25, False),        # not enough logged steps yet
]


@pytest.mark.parametrize("values, window, growth, expected", LENGTH_CASES)
def test_length_growing(values, window, growth, expected):
    from knowrl.recipes.agentic_rag.train import length_growing

    assert length_growing(values, window, growth) is expected


def test_length_alarm_fires_once_per_streak_and_can_stop():
    from transformers import TrainerControl, TrainerState

    from knowrl.recipes.agentic_rag.settings import RagSettings
    from knowrl.recipes.agentic_rag.train import LengthGrowthAlarm

    alarm = LengthGrowthAlarm(RagSettings(length_window=2, length_growth=1.2, length_stop=True))
    state, fired_at = TrainerState(), []
    for step, value in enumerate([50, 60, 70, 80, 60, 70, 90], 1):
        state.global_step, control = step, TrainerControl()
        alarm.on_log(None, state, control, logs={"rag/completion_tokens": value})
        if control.should_training_stop:
            fired_at.append(step)
    assert fired_at == [3, 7] and [f["step"] for f in alarm.fired] == [3, 7]


SETTINGS_CASES = [
    ({"agentic_rag.rollout.turn_tokens": 200, "grpo.max_completion_length": 100}, "exceeds the total budget"),
    ({"agentic_rag.rollout.max_turns": -1}, "max_turns"),  # the schema's minimum catches it first
]


@pytest.mark.parametrize("overrides, message", SETTINGS_CASES)
def test_settings_refused(overrides, message):
    from knowrl.config import load_config
    from knowrl.recipes.agentic_rag.settings import RagSettings

    with pytest.raises(ConfigError, match=message):
        RagSettings.from_config(load_config(profile="rag_smoke", overrides=[f"{k}={v}" for k, v in overrides.items()]))


QWEN_1_5B = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 1536,
             "intermediate_size": 8960, "num_hidden_layers": 28, "num_attention_heads": 12, "num_key_value_heads": 2,
             "vocab_size": 151936, "tie_word_embeddings": True, "torch_dtype": "bfloat16"}


def test_memory_plan_counts_the_multi_turn_budget(tmp_path):
    """The recipe's total budget is grpo.max_completion_length, the length the core's memory plan sizes: five
    1024-token turns plan far more memory than one (a config.json of Knowledge-R1's 1.5B model; no GPU needed)."""
    import json

    from knowrl.config import load_config
    from knowrl.recipes.agentic_rag.settings import RagSettings
    from knowrl.train.memory import plan_for_run

    (tmp_path / "config.json").write_text(json.dumps(QWEN_1_5B))
    totals = {}
    for budget in (1024, 5120):
        config = load_config(profile="rag_gpu", overrides=[f"grpo.max_completion_length={budget}",
                                                           "grpo.memory.gpu_gb=80"])
        assert RagSettings.from_config(config).budget == budget
        totals[budget] = plan_for_run(config, "grpo", tmp_path).total_gib
    assert totals[5120] > 2.5 * totals[1024]
