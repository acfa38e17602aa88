"""The policy and its GRPO update on consensus rewards (RECIPES B, step 7), on the train stage's GRPO builder.

The update trains on the self-analysis samples exactly as they were generated: TRL's ``rollout_func`` hands the
trainer each kept task's k stored samples (prompt and completion token ids) instead of sampling again, and the
consensus reward recomputes each sample's agreement with its task's majority, grouped by the ``task_id`` column.
Each iteration builds a fresh trainer on the base model with the configured LoRA and loads the previous
iteration's adapter into it, so the KL reference (the adapter disabled) stays the base policy throughout.
A sample that ended at the JSON's closing brace (the stop string) has no EOS: TRL's ``completions/clipped_ratio``
counts it as clipped, which is harmless here (``mask_truncated_completions`` stays off).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowrl.recipes.self_knowledge.consensus import make_consensus_reward
from knowrl.recipes.self_knowledge.generation import Sample
from knowrl.recipes.self_knowledge.settings import SelfKnowledgeSettings, update_config

log = logging.getLogger(__name__)


@dataclass
class Policy:
    model: Any        # a PeftModel (LoRA on the base policy)
    tokenizer: Any
    path: Path        # the base policy folder
    trainer: Any = None  # the last update's GRPOTrainer (its logs: rewards and advantages as TRL computed them)


def load_policy(config: dict, adapter: str | Path | None = None) -> Policy:
    """The base policy with a fresh LoRA (zero-initialised: the same outputs as the base) or a saved adapter."""
    import torch
    from peft import PeftModel, get_peft_model

    from knowrl.train import models

    path = models.resolve_policy(config)
    tokenizer = models.load_tokenizer(path, config)
    tokenizer.padding_side = "left"
    base = models.load_model(path, config, config["grpo"]["precision"])
    if torch.cuda.is_available():  # the loop generates before any trainer places the model
        base = base.to("cuda")
    if adapter:
        model = PeftModel.from_pretrained(base, str(adapter), is_trainable=True)
    else:
        model = get_peft_model(base, models.lora_config(config["grpo"]["lora"]))
    return Policy(model, tokenizer, path)


@dataclass(frozen=True)
class TrainGroup:
    task_id: str
    prompt: str                  # the rendered self-analysis prompt (chat template + JSON prefix)
    samples: tuple[Sample, ...]  # the k stored samples


def stored_rollout(tokenizer: Any, groups: Sequence[TrainGroup], served: list[str]):
    """TRL rollout_func serving the stored samples: the i-th repeat of a prompt in a batch gets its i-th sample."""
    by_prompt = {g.prompt: g for g in groups}

    def rollout(prompts, trainer):
        seen: Counter = Counter()
        prompt_ids, completion_ids = [], []
        for prompt in prompts:
            g = by_prompt[prompt]
            sample = g.samples[seen[prompt] % len(g.samples)]
            seen[prompt] += 1
            prompt_ids.append(tokenizer(prompt, add_special_tokens=False)["input_ids"])
            completion_ids.append(list(sample.ids) or [tokenizer.eos_token_id])
        served.extend(dict.fromkeys(by_prompt[p].task_id for p in prompts))
        return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": None}

    return rollout


def step_size(wanted: int, available: int, k: int, accumulation: int) -> int:
    """Tasks per optimizer step: at most ``wanted`` and ``available``, with tasks x k a multiple of the gradient
    accumulation (0: no step can be filled)."""
    return next((n for n in range(min(wanted, available), 0, -1) if n * k % accumulation == 0), 0)


def update_policy(policy: Policy, config: dict, settings: SelfKnowledgeSettings, groups: Sequence[TrainGroup],
                  out: Path, iteration: int) -> dict | None:
    """One epoch of GRPO over ``groups`` (``prompts_per_step`` tasks x k samples per step; a remainder that does
    not fill a step is left out and counted). Returns the update's record (None: too few groups for one step);
    ``policy.model`` is the updated model."""
    import os

    from datasets import Dataset
    from peft import get_peft_model_state_dict, set_peft_model_state_dict
    from transformers.trainer_utils import SaveStrategy

    from knowrl.train import grpo, launch, models, monitor

    per_step = step_size(settings.update["prompts_per_step"], len(groups), settings.samples,
                         config["grpo"]["gradient_accumulation_steps"])
    if not per_step:
        log.warning("iteration %d: %d kept task(s) cannot fill one step; no update", iteration, len(groups))
        return None
    steps = len(groups) // per_step
    derived = update_config(config, settings, steps, per_step, iteration)
    adapter = {k: v.detach().clone() for k, v in get_peft_model_state_dict(policy.model).items()}
    base = policy.model.unload()
    dataset = Dataset.from_list([{"prompt": g.prompt, "task_id": g.task_id} for g in groups])
    parse_stats: Counter = Counter()
    served: list[str] = []
    scored: list[tuple[str, float]] = []
    score = make_consensus_reward(stats=parse_stats)

    def consensus_reward(prompts, completions, task_id, **kwargs):
        values = score(prompts, completions, task_id, **kwargs)
        scored.extend(zip(task_id, values))
        return values

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func serves the stored samples
    args = grpo.grpo_args(derived, out)
    args.save_strategy = SaveStrategy.NO  # the loop saves and seals the adapter of each iteration
    trainer = grpo.trainer_class()(
        model=base, reward_funcs=[consensus_reward], args=args,
        train_dataset=dataset, processing_class=policy.tokenizer,
        peft_config=models.lora_config(derived["grpo"]["lora"]),
        rollout_func=stored_rollout(policy.tokenizer, groups, served), callbacks=[monitor.MetricsFileCallback(out)])
    set_peft_model_state_dict(trainer.model, adapter)
    launch.plain_cpu_device(trainer)
    result = trainer.train()
    policy.model, policy.trainer = trainer.model, trainer
    rows = [row for row in trainer.state.log_history if "loss" in row]
    return {"steps": trainer.state.global_step, "prompts_per_step": per_step, "served": served,
            "left_out": len(groups) - steps * per_step, "train_loss": result.training_loss,
            "rewards": scored, "parse": dict(parse_stats),
            "last_row": rows[-1] if rows else None}

