"""``knowrl rag train``: GRPO with multi-turn search rollouts, on the core's GRPO builder.

setup (``knowrl.train.grpo.setup`` with this recipe's dataset and rewards; the memory plan counts the total
multi-turn completion budget, ``grpo.max_completion_length``) -> train (``grpo.train`` with TRL's ``rollout_func``
= the search rollout over the KB; checkpoints sealed, resumable) -> save (``grpo.save``: adapter, merged model,
summary, provenance + SHA256SUMS). A length alarm watches the mean completion length (model + environment tokens):
the failure that stopped Knowledge-R1 at 7B was responses growing until memory ran out.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from knowrl.errors import ConfigError
from knowrl.recipes.agentic_rag.settings import RagSettings

log = logging.getLogger(__name__)
LENGTH_KEY = "rag/completion_tokens"

try:
    from transformers import TrainerCallback
except ImportError:  # pragma: no cover
    TrainerCallback = object  # type: ignore[misc,assignment]


def length_growing(values: list[float], window: int, growth: float) -> bool:
    """True when the last ``window`` steps each grew the value and the last is >= ``growth`` x the window's start.

    >>> length_growing([10, 12, 15, 19], 3, 1.5), length_growing([10, 12, 11, 19], 3, 1.5)
    (True, False)
    """
    if len(values) <= window:
        return False
    recent = values[-window - 1:]
    rising = all(b > a for a, b in zip(recent, recent[1:]))
    return rising and recent[0] > 0 and recent[-1] >= growth * recent[0]


class LengthGrowthAlarm(TrainerCallback):
    """Warns (once per streak) when the mean completion length keeps growing; optionally saves and stops."""

    def __init__(self, settings: RagSettings):
        self.settings, self.values, self.fired, self._armed = settings, [], [], True

    def on_log(self, args, state, control, logs=None, **kwargs):
        value = (logs or {}).get(LENGTH_KEY)
        if not isinstance(value, (int, float)):
            return control
        self.values.append(float(value))
        growing = length_growing(self.values, self.settings.length_window, self.settings.length_growth)
        if growing and self._armed:
            record = {"step": state.global_step, "alarm": "length_growth", "metric": LENGTH_KEY,
                      "value": value, "bound": self.settings.length_growth}
            self.fired.append(record)
            log.warning("length alarm at step %d: mean completion length %.1f tokens grew >= %.2fx over %d logged "
                        "steps (budget %d)%s", state.global_step, value, self.settings.length_growth,
                        self.settings.length_window, self.settings.budget,
                        " - stopping (agentic_rag.length_alarm.stop)" if self.settings.length_stop else "")
            if self.settings.length_stop:
                control.should_save = control.should_training_stop = True
        self._armed = not growing
        return control


def main(config: dict, data_path: str | None = None, kb_path: str | None = None,
         out: str | os.PathLike = "results/rag/grpo", init: str | None = None, resume: str | None = None,
         callbacks: list | None = None) -> Path:
    """Agentic retrieval GRPO end to end."""
    from knowrl.recipes.agentic_rag.data import load_questions, rag_dataset
    from knowrl.recipes.agentic_rag.retrieval import KBRetriever
    from knowrl.recipes.agentic_rag.rewards import RagRewards
    from knowrl.recipes.agentic_rag.rollout import make_rollout_func
    from knowrl.train import grpo

    started, out = time.time(), Path(out)
    section = config["agentic_rag"]
    settings = RagSettings.from_config(config)
    data_path, kb_path = data_path or section["data"]["train"], kb_path or section["kb"]
    if not data_path or not kb_path:
        raise ConfigError("agentic_rag needs questions and a KB: pass --data/--kb or set agentic_rag.data.train "
                          "and agentic_rag.kb")
    records, report = load_questions(data_path, config["grpo"]["max_samples"])
    log.info("RL questions: %d from %s (layouts %s; skipped %s)", report.kept, data_path, dict(report.layouts),
             dict(report.skipped) or "none")
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func is TRL's documented multi-turn hook
    rewards = RagRewards(settings.reward, settings.format_weight)
    retriever = KBRetriever.open(kb_path, settings.mode, settings.k, settings.batched)
    try:
        run = grpo.setup(config, data_path, out, init or config["grpo"]["init"], scorer=rewards,
                         make_dataset=lambda tok: rag_dataset(records, tok, config["grpo"]["max_prompt_length"]))
        run["trainer_kwargs"] = {"rollout_func": make_rollout_func(settings, retriever)}
        alarm = LengthGrowthAlarm(settings)
        grpo.train(config, run, out, resume, [alarm, *(callbacks or [])])
        run["alarms"] = [*run["alarms"], *alarm.fired]
        return grpo.save(config, run, out, started)
    finally:
        retriever.close()
