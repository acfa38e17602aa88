"""The ``self_knowledge`` config section as a typed dataclass (every key described in config.schema.json)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from knowrl.errors import ConfigError


@dataclass(frozen=True)
class SelfKnowledgeSettings:
    seed_set: str
    heldout_set: str
    iterations: int
    tasks_per_iteration: int
    few_shot: int
    introspection: dict[str, Any]   # temperature, top_p, max_new_tokens
    dedup_threshold: float
    samples: int                    # k self-analysis samples per task (= GRPO group size)
    analysis: dict[str, Any]        # temperature, top_p, max_new_tokens
    max_prompt_tokens: int
    filter: dict[str, Any]          # reward_low, reward_high, min_margin, balance_majority
    pool: dict[str, Any]            # min_consensus, max_size
    update: dict[str, Any]          # prompts_per_step, learning_rate, beta, loss_type, scale_rewards, lr_scheduler
    guard: dict[str, Any]           # eval_set, label_ratio_max, patience, max_drop, stop_on_collapse
    eval: dict[str, Any]            # max_new_tokens, bootstrap_samples
    batch_size: int

    def __post_init__(self):
        if not 0.0 <= self.filter["reward_low"] <= self.filter["reward_high"] <= 1.0:
            raise ConfigError("self_knowledge.filter needs 0 <= reward_low <= reward_high <= 1")
        if self.samples < 2:
            raise ConfigError("self_knowledge.samples must be >= 2 (a consensus needs several samples)")
        if self.few_shot < 2:
            raise ConfigError("self_knowledge.few_shot must be >= 2 (one example of each label)")

    @classmethod
    def from_config(cls, config: dict) -> "SelfKnowledgeSettings":
        section = config["self_knowledge"]
        return cls(**{f.name: section[f.name] for f in fields(cls)})


def update_config(config: dict, settings: SelfKnowledgeSettings, steps: int, prompts_per_step: int,
                  iteration: int) -> dict:
    """The full config with its ``grpo`` section set for one iteration's update: group size k, batch of
    ``prompts_per_step`` x k completions, the recipe's learning rate / KL / loss / reward scaling, no checkpoints
    inside the iteration (the loop seals each iteration), a seed per iteration. Everything else (LoRA, optimizer,
    precision, clipping) comes from ``grpo`` as configured."""
    import copy

    k, update = settings.samples, settings.update
    accumulation = config["grpo"]["gradient_accumulation_steps"]
    batch = prompts_per_step * k
    if batch % accumulation:
        raise ConfigError(f"self_knowledge: {prompts_per_step} prompts x {k} samples is not a multiple of "
                          f"grpo.gradient_accumulation_steps ({accumulation})")
    derived = copy.deepcopy(config)
    derived["seed"] = config["seed"] + iteration
    derived["grpo"].update(
        num_generations=k, per_device_batch_size=batch // accumulation, max_steps=steps,
        learning_rate=update["learning_rate"], beta=update["beta"], loss_type=update["loss_type"],
        scale_rewards=update["scale_rewards"], lr_scheduler=update["lr_scheduler"], warmup_ratio=0.0,
        save_steps=10**9, max_completion_length=settings.analysis["max_new_tokens"],
        max_prompt_length=settings.max_prompt_tokens, temperature=settings.analysis["temperature"],
        top_p=settings.analysis["top_p"])
    derived["grpo"]["generation"] = {**config["grpo"]["generation"], "backend": "transformers"}
    return derived
