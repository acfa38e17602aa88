"""Reward-hacking alarms and the metrics files."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from transformers import TrainerControl

from knowrl.train.monitor import AlarmCallback, MetricsFileCallback, out_of_bounds

BOUNDS = {"refusal_rate_max": 0.8, "refusal_rate_min": 0.05, "answer_chars_max": 100,
          "completion_length_min": 5, "zero_spread_max": 0.9, "patience": 2, "stop": False}


@pytest.mark.parametrize("metrics, fired", [
    ({"policy/refusal_rate": 0.5}, []),                               # healthy
    ({"policy/refusal_rate": 0.95}, ["over_abstention"]),             # answers "I don't know." to everything
    ({"policy/refusal_rate": 0.0}, ["guessing"]),                     # never abstains any more
    ({"policy/answer_chars": 400.0}, ["long_answers"]),               # answer-length drift
    ({"completions/mean_length": 2.0}, ["short_completions"]),        # collapse to tiny outputs
    ({"frac_reward_zero_std": 1.0}, ["zero_spread"]),                 # no learning signal
    ({"policy/refusal_rate": float("nan")}, []),                      # missing values never alarm
])
def test_out_of_bounds(metrics, fired):
    assert [name for name, *_ in out_of_bounds(metrics, BOUNDS)] == fired


def _state(step):
    return SimpleNamespace(global_step=step, is_world_process_zero=True)


def test_alarm_needs_patience_then_stops_when_configured():
    callback = AlarmCallback({**BOUNDS, "stop": True})
    control = TrainerControl()
    callback.on_log(None, _state(1), control, logs={"frac_reward_zero_std": 1.0})
    assert not callback.fired and not control.should_training_stop
    callback.on_log(None, _state(2), control, logs={"frac_reward_zero_std": 0.2})   # streak broken
    callback.on_log(None, _state(3), control, logs={"frac_reward_zero_std": 1.0})
    callback.on_log(None, _state(4), control, logs={"frac_reward_zero_std": 1.0})
    assert [f["alarm"] for f in callback.fired] == ["zero_spread"] and callback.fired[0]["step"] == 4
    assert control.should_training_stop and control.should_save


def test_metrics_files_drop_rows_after_the_resumed_step(tmp_path):
    callback = MetricsFileCallback(tmp_path)
    for step in (1, 2, 3):
        callback.on_log(None, _state(step), TrainerControl(), logs={"loss": step / 10, "reward": float("nan")})
    resumed = MetricsFileCallback(tmp_path)
    resumed.on_train_begin(None, _state(2), TrainerControl())          # resumed from checkpoint-2
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and rows[0]["reward"] is None
    assert (tmp_path / "metrics.csv").read_text().splitlines()[0] == "step,loss,reward"
