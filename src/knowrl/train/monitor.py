"""Training metrics files (JSONL + CSV, one row per logged step) and reward-hacking alarms.

TensorBoard (and W&B / SwanLab when configured) get the same rows through transformers' ``report_to``; these files
are the offline, grep-able record. Alarms watch the failure modes reported for factuality RL: over-abstention
(refusal rate up), collapse to guessing (refusal rate down), answer-length drift, and groups whose completions all
get the same reward (zero spread: no learning signal).
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
from pathlib import Path
from typing import Any

from knowrl.files import atomic_path

log = logging.getLogger(__name__)

try:
    from transformers import TrainerCallback
except ImportError:  # pragma: no cover
    TrainerCallback = object  # type: ignore[misc,assignment]

# alarm name -> (metric key in the logged row, comparison, config key of the bound)
ALARMS = (
    ("over_abstention", "policy/refusal_rate", ">", "refusal_rate_max"),
    ("guessing", "policy/refusal_rate", "<", "refusal_rate_min"),
    ("long_answers", "policy/answer_chars", ">", "answer_chars_max"),
    ("short_completions", "completions/mean_length", "<", "completion_length_min"),
    ("zero_spread", "frac_reward_zero_std", ">", "zero_spread_max"),
)


def out_of_bounds(metrics: dict[str, Any], bounds: dict[str, Any]) -> list[tuple[str, str, float, float]]:
    """Alarms whose metric crosses its configured bound: ``[(alarm, metric, value, bound)]``.

    >>> out_of_bounds({"policy/refusal_rate": 0.9}, {"refusal_rate_max": 0.8})
    [('over_abstention', 'policy/refusal_rate', 0.9, 0.8)]
    """
    fired = []
    for name, key, op, bound_key in ALARMS:
        bound, value = bounds.get(bound_key), metrics.get(key)
        if bound is None or not isinstance(value, (int, float)) or math.isnan(value):
            continue
        if (op == ">" and value > bound) or (op == "<" and value < bound):
            fired.append((name, key, float(value), float(bound)))
    return fired


class AlarmCallback(TrainerCallback):
    """Warns when a metric stays out of bounds for ``patience`` logged steps; optionally saves and stops."""

    def __init__(self, alarms: dict[str, Any]):
        self.alarms = alarms
        self.streak: dict[str, int] = {}
        self.fired: list[dict[str, Any]] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        crossed = {name: (key, value, bound) for name, key, value, bound in out_of_bounds(logs or {}, self.alarms)}
        for name in [n for n in self.streak if n not in crossed]:
            self.streak[name] = 0
        for name, (key, value, bound) in crossed.items():
            self.streak[name] = self.streak.get(name, 0) + 1
            if self.streak[name] == self.alarms["patience"]:
                record = {"step": state.global_step, "alarm": name, "metric": key, "value": value, "bound": bound}
                self.fired.append(record)
                log.warning("reward-hacking alarm %s at step %d: %s = %.4g crosses %.4g for %d logged steps%s",
                            name, state.global_step, key, value, bound, self.alarms["patience"],
                            " - stopping (grpo.alarms.stop)" if self.alarms["stop"] else "")
                if self.alarms["stop"]:
                    control.should_save = True
                    control.should_training_stop = True
        return control


class MetricsFileCallback(TrainerCallback):
    """Appends each logged row to ``metrics.jsonl`` and rewrites ``metrics.csv`` (atomic) from all rows.

    On resume, rows after the resumed step (logged by the interrupted run after its last checkpoint) are dropped.
    """

    def __init__(self, out_dir: str | os.PathLike):
        self.jsonl = Path(out_dir) / "metrics.jsonl"
        self.csv = Path(out_dir) / "metrics.csv"
        self.rows: list[dict[str, Any]] = []

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return control
        if self.jsonl.is_file():
            with open(self.jsonl, encoding="utf-8") as fh:
                old = [json.loads(line) for line in fh if line.strip()]
            self.rows = [row for row in old if row.get("step", 0) <= state.global_step]
            self._rewrite_jsonl()
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return control
        row = {"step": state.global_step, **{k: _plain(v) for k, v in logs.items()}}
        self.rows.append(row)
        self.jsonl.parent.mkdir(parents=True, exist_ok=True)
        with open(self.jsonl, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
        self._write_csv()
        return control

    def _rewrite_jsonl(self) -> None:
        with atomic_path(self.jsonl) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            for row in self.rows:
                fh.write(json.dumps(row) + "\n")

    def _write_csv(self) -> None:
        columns = list(dict.fromkeys(key for row in self.rows for key in row))
        with atomic_path(self.csv) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.rows)


def _plain(value: Any) -> Any:
    """JSON-safe scalar: tensors/numpy -> float, NaN -> None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def report_to(names: list[str]) -> list[str]:
    """transformers ``report_to`` for the configured loggers, refusing one that is configured but not installed."""
    from knowrl.errors import ConfigError

    modules = {"tensorboard": "tensorboard", "wandb": "wandb", "swanlab": "swanlab"}
    for name in names:
        try:
            __import__(modules[name])
        except ImportError:
            raise ConfigError(f"report_to includes {name!r} but the {modules[name]} package is not installed; "
                              "remove it from report_to") from None
    return list(names) or ["none"]
