"""``knowrl train grpo``: knowledgeable GRPO (METHOD 4) with TRL's GRPOTrainer and the project's rewards.

setup (start policy = the SFT model merged, RL prompts, reward functions, TRL config, memory plan on GPU) -> train
(LoRA on top of the SFT model, so the KL reference - the adapter disabled - is the SFT model; checkpoints sealed
with SHA256SUMS + provenance; resumable; per-step metrics with the generation / reward / update time split and
reward-hacking alarms) -> save (``adapter/``, optionally ``merged/``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from knowrl.artifact import verify_sums
from knowrl.config import config_hash
from knowrl.errors import ConfigError, InputError
from knowrl.files import write_json_atomic
from knowrl.train import checkpoints, data, launch, memory, models, monitor
from knowrl.train.sft import place_tensorboard

log = logging.getLogger(__name__)


def grpo_args(config: dict, out: Path) -> Any:
    """TRL ``GRPOConfig`` from the ``grpo`` section, after the cross-field checks TRL would raise on."""
    from trl import GRPOConfig

    grpo, gen = config["grpo"], config["grpo"]["generation"]
    generation_batch = grpo["per_device_batch_size"] * grpo["gradient_accumulation_steps"]
    if generation_batch % grpo["num_generations"]:
        raise ConfigError(f"grpo.per_device_batch_size x grpo.gradient_accumulation_steps ({generation_batch}) "
                          f"must be a multiple of grpo.num_generations ({grpo['num_generations']})")
    precision = models.resolve_precision(grpo["precision"])
    use_vllm = gen["backend"] == "vllm"
    if use_vllm:
        require_vllm(gen["vllm_mode"])
    return GRPOConfig(
        output_dir=str(out), seed=config["seed"], data_seed=config["seed"], max_steps=grpo["max_steps"],
        per_device_train_batch_size=grpo["per_device_batch_size"],
        gradient_accumulation_steps=grpo["gradient_accumulation_steps"], num_generations=grpo["num_generations"],
        max_completion_length=grpo["max_completion_length"], temperature=grpo["temperature"], top_p=grpo["top_p"],
        beta=grpo["beta"], loss_type=grpo["loss_type"], epsilon=grpo["epsilon"], epsilon_high=grpo["epsilon_high"],
        scale_rewards=grpo["scale_rewards"], mask_truncated_completions=grpo["mask_truncated_completions"],
        learning_rate=grpo["learning_rate"], lr_scheduler_type=grpo["lr_scheduler"],
        warmup_steps=grpo["warmup_ratio"], optim=grpo["optim"], weight_decay=grpo["weight_decay"],
        max_grad_norm=grpo["max_grad_norm"], bf16=precision == "bf16", fp16=precision == "fp16",
        gradient_checkpointing=grpo["gradient_checkpointing"],
        use_vllm=use_vllm, vllm_mode=gen["vllm_mode"], vllm_gpu_memory_utilization=gen["vllm_gpu_memory_utilization"],
        vllm_server_base_url=os.environ.get(launch.SERVER_URL_ENV) or gen["vllm_server_url"],  # launcher's server
        vllm_max_model_length=grpo["max_prompt_length"] + grpo["max_completion_length"],
        logging_steps=grpo["logging_steps"], logging_first_step=True, save_strategy="steps",
        save_steps=grpo["save_steps"], save_total_limit=grpo["save_total_limit"],
        report_to=monitor.report_to(grpo["report_to"]), dataloader_num_workers=0, dataloader_pin_memory=False,
        disable_tqdm=True,
        log_completions=False,
        ddp_find_unused_parameters=False,  # every LoRA weight is used in each step
    )


def require_vllm(mode: str) -> None:
    """vLLM generation needs CUDA and an importable vllm (the serve-vllm / train environment on a GPU)."""
    import torch

    if not torch.cuda.is_available():
        raise ConfigError("grpo.generation.backend=vllm needs a CUDA GPU (none here); "
                          "use grpo.generation.backend=transformers")
    try:
        import vllm  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"grpo.generation.backend=vllm but vllm is not importable ({exc}); install the GPU "
                          "environment (envs/) or use grpo.generation.backend=transformers") from None


def start_policy(config: dict, init: str | os.PathLike | None, out: Path) -> Path:
    """The policy GRPO starts from (and the KL reference): the SFT output merged, else the base policy."""
    if not init:
        return models.resolve_policy(config)
    init = Path(init)
    if (init / "SHA256SUMS").is_file():
        report = verify_sums(init)
        if not report.ok:
            raise InputError(f"SFT output {init} does not match its checksums: {report.summary()}")
    if (init / "merged" / "config.json").is_file():
        return init / "merged"
    if (init / "config.json").is_file():
        return init
    if (init / "adapter" / "adapter_config.json").is_file():
        target = out / "start_policy"
        if not (target / "config.json").is_file():
            models.merge_adapter(models.resolve_policy(config), init / "adapter", target, config)
        return target
    raise ConfigError(f"grpo.init {init} holds neither merged/ nor adapter/ (expected a `knowrl train sft` output)")


def build_rewards(config: dict) -> tuple[list, Any]:
    """The configured reward functions and the scorer that owns judge, KB and verifier (rewards stage)."""
    from knowrl.rewards import RewardScorer

    scorer = RewardScorer.from_config(config)
    return scorer.reward_functions(), scorer


def policy_metrics(completions: list) -> dict[str, float]:
    """Refusal rate, well-formed share and mean answer length (characters) of a batch of completions. A refusal is
    an answer the rule grader grades NOT_ATTEMPTED as one (``knowrl.judge.refusal``: hedged abstentions included,
    hedged guesses not); a completion without an answer is a format failure, not a refusal (METHOD 3.2)."""
    from knowrl.judge.refusal import is_refusal
    from knowrl.rewards.format import completion_text, extract_answer, is_well_formed

    texts = [completion_text(c) for c in completions]
    answers = [a for a in (extract_answer(t) for t in texts) if a is not None]
    refusals = sum(map(is_refusal, answers))
    return {"policy/refusal_rate": refusals / max(len(texts), 1),
            "policy/well_formed": sum(map(is_well_formed, texts)) / max(len(texts), 1),
            "policy/answer_chars": sum(map(len, answers)) / len(answers) if answers else 0.0}


def trainer_class():
    """GRPOTrainer + wall-time split (generation / reward / update), policy metrics and the scorer's metrics.

    Across processes each rank scores its own slice of the completions (TRL gathers the rewards); the policy and
    scorer metrics are gathered from every rank, so the logged numbers cover the whole global batch."""
    from accelerate.utils import gather_object
    from trl import GRPOTrainer

    class KnowRLGRPOTrainer(GRPOTrainer):
        def __init__(self, *args, scorer: Any = None, **kwargs):
            self.scorer, self._clock, self._clock_step = scorer, defaultdict(float), 0
            super().__init__(*args, **kwargs)

        def _generate(self, prompts):
            began = time.perf_counter()
            try:
                return super()._generate(prompts)
            finally:
                self._clock["generation"] += time.perf_counter() - began

        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            began = time.perf_counter()
            try:
                return super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            finally:
                self._clock["reward"] += time.perf_counter() - began
                mode = "train" if self.model.training else "eval"
                everyone = self._gather(list(completions))
                for key, value in policy_metrics([c for rank in everyone for c in rank]).items():
                    self._metrics[mode][key].append(value)

        def training_step(self, model, inputs, num_items_in_batch):
            began = time.perf_counter()
            try:
                return super().training_step(model, inputs, num_items_in_batch)
            finally:
                self._clock["step"] += time.perf_counter() - began

        def log(self, logs, start_time=None):
            if self.model.training and self._clock["step"]:
                steps = max(self.state.global_step - self._clock_step, 1)
                gen, reward, step = (self._clock[k] / steps for k in ("generation", "reward", "step"))
                for key, value in {"time/generation_s": gen, "time/reward_s": reward,
                                   "time/update_s": max(step - gen - reward, 0.0), "time/step_s": step}.items():
                    self._metrics["train"][key].append(value)
                self._clock.clear()
                self._clock_step = self.state.global_step
            if self.scorer is not None and self.model.training:
                for key, value in (self.scorer.step_metrics(gather=self._gather) or {}).items():
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        name = key if "/" in key else f"scorer/{key}"
                        self._metrics["train"][name].append(float(value))
            super().log(logs, start_time)

        def _gather(self, value):
            """``value`` of every rank, in rank order (every rank must call it at the same point)."""
            return gather_object([value]) if self.accelerator.num_processes > 1 else [value]

    return KnowRLGRPOTrainer


def setup(config: dict, data_path: str | os.PathLike, out: Path, init: str | None,
          reward_funcs: list | None = None, extra_reward_funcs: list | None = None, scorer: Any = None,
          make_dataset: Any = None) -> dict[str, Any]:
    """Start policy, tokenizer, prompts, rewards, model, TRL arguments; the memory plan on a GPU. A sibling recipe
    passes its own ``scorer`` (reward functions + step metrics + card) and ``make_dataset(tokenizer)``."""
    grpo = config["grpo"]
    with launch.main_process_first():  # rank 0 converts / merges the start policy once
        policy = start_policy(config, init, out)
    memory.check_plan(config, "grpo", policy)
    if config["model"]["backend"] == "unsloth":  # Unsloth must patch before TRL is imported
        model, tokenizer = models.load_unsloth(policy, config, grpo["lora"],
                                               grpo["max_prompt_length"] + grpo["max_completion_length"],
                                               grpo["gradient_checkpointing"], config["seed"])
        peft_config = None
    else:
        tokenizer = models.load_tokenizer(policy, config)
        model = models.load_model(policy, config, grpo["precision"])
        peft_config = models.lora_config(grpo["lora"])
    tokenizer.padding_side = "left"
    if make_dataset is not None:
        dataset = make_dataset(tokenizer)
    else:
        records = data.load_rl_records(data_path, grpo["max_samples"])
        dataset = data.rl_dataset(records, tokenizer, config["model"]["prompt_variant"], grpo["max_prompt_length"])
    if reward_funcs is None:
        reward_funcs, scorer = (scorer.reward_functions(), scorer) if scorer is not None else build_rewards(config)
    reward_funcs = [*reward_funcs, *(extra_reward_funcs or [])]
    log.info("GRPO data: %d prompts from %s; rewards: %s", len(dataset), data_path,
             ", ".join(getattr(f, "__name__", type(f).__name__) for f in reward_funcs))
    return {"policy": policy, "tokenizer": tokenizer, "model": model, "peft_config": peft_config,
            "dataset": dataset, "reward_funcs": reward_funcs, "scorer": scorer, "data_path": str(data_path),
            "init": str(init) if init else None, "args": grpo_args(config, out)}


def _record(run: dict) -> dict:
    """Run-specific provenance: data / start-policy hashes and the reward card (current at save time)."""
    record = {"data": run["hashes"], "start_policy": str(run["policy"]), "sft_init": run["init"]}
    if run["scorer"] is not None:
        record["reward_card"] = run["scorer"].card()
    record["reward_functions"] = [getattr(f, "__name__", type(f).__name__) for f in run["reward_funcs"]]
    return record


def train(config: dict, run: dict, out: Path, resume: str | None = None, callbacks: list | None = None) -> Any:
    """Run GRPO; ``resume`` as :func:`checkpoints.resolve_resume` takes it."""
    checkpoints.check_fresh_output(out, resume)
    init_sums = Path(run["init"]) / "SHA256SUMS" if run["init"] else None
    run["hashes"] = checkpoints.file_hashes({"rl_data": run["data_path"],
                                             "sft_sums": init_sums if init_sums and init_sums.is_file() else None})
    checkpoint = checkpoints.resolve_resume(out, resume, config, run["hashes"])
    alarms = monitor.AlarmCallback(config["grpo"]["alarms"])
    sealer = checkpoints.ProvenanceCallback(config, "grpo", lambda: _record(run))
    trainer = trainer_class()(model=run["model"], reward_funcs=run["reward_funcs"], args=run["args"],
                              train_dataset=run["dataset"], processing_class=run["tokenizer"],
                              peft_config=run["peft_config"], scorer=run["scorer"],
                              callbacks=[sealer, monitor.MetricsFileCallback(out), alarms, *(callbacks or [])],
                              **run.get("trainer_kwargs", {}))  # a recipe's rollout_func
    place_tensorboard(trainer, out)
    launch.plain_cpu_device(trainer)
    log.info("GRPO on %d process(es): %d completions per step = %d x %d per device x %d accumulation (%d prompts x "
             "%d generations)", trainer.args.world_size, launch.global_batch(trainer.args), trainer.args.world_size,
             trainer.args.per_device_train_batch_size, trainer.args.gradient_accumulation_steps,
             launch.global_batch(trainer.args) // trainer.args.num_generations, trainer.args.num_generations)
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    run.update(trainer=trainer, result=result, alarms=alarms.fired, resumed_from=str(checkpoint) if checkpoint else None)
    return trainer


def _reward_trend(rewards: list) -> dict | None:
    """Mean total reward over the first and the last k logged steps (k = a third of them, at most 10): one step's
    reward depends on the few prompts it drew, so "did the reward rise" is read from these means."""
    values = [float(r) for r in rewards if isinstance(r, (int, float))]
    if not values:
        return None
    k = max(1, min(10, len(values) // 3))
    return {"steps_each": k, "first": round(sum(values[:k]) / k, 4), "last": round(sum(values[-k:]) / k, 4)}


def save(config: dict, run: dict, out: Path, started: float) -> Path:
    """``adapter/`` (+ ``merged/``), ``summary.json``, provenance + SHA256SUMS over the whole folder (rank 0
    writes; every rank takes part in ``save_model``)."""
    trainer = run["trainer"]
    trainer.save_model(str(out / "adapter"))
    if trainer.is_world_process_zero():
        run["tokenizer"].save_pretrained(str(out / "adapter"))
        if config["grpo"]["save_merged"]:
            models.merge_adapter(run["policy"], out / "adapter", out / "merged", config)
        rows = [row for row in trainer.state.log_history if "loss" in row]
        summary = {"global_step": trainer.state.global_step, "train_loss": run["result"].training_loss,
                   "first_loss": rows[0]["loss"] if rows else None, "last_loss": rows[-1]["loss"] if rows else None,
                   "first_reward": rows[0].get("reward") if rows else None,
                   "last_reward": rows[-1].get("reward") if rows else None,
                   "reward_trend": _reward_trend([row.get("reward") for row in rows]),
                   "alarms": run["alarms"], "resumed_from": run["resumed_from"],
                   "processes": trainer.args.world_size, "global_batch": launch.global_batch(trainer.args)}
        write_json_atomic(out / "summary.json", summary)
        checkpoints.seal(out, config, stage="grpo", summary=summary, seed=config["seed"],
                         wall_time_s=round(time.time() - started, 3), **_record(run))
        log.info("GRPO done: %s", out)
    checkpoints.barrier()  # no rank returns before the output is sealed
    return out


def main(config: dict, data_path: str | None = None, out: str | os.PathLike = "results/grpo",
         init: str | None = None, resume: str | None = None, callbacks: list | None = None,
         reward_funcs: list | None = None, extra_reward_funcs: list | None = None) -> Path:
    """Knowledgeable GRPO end to end; ``reward_funcs`` replaces the configured rewards, ``extra_reward_funcs``
    adds to them (tests, benchmarks)."""
    started, out = time.time(), Path(out)
    log.info("resolved config (sha256 %s): %s", config_hash(config)[:12],
             json.dumps({k: config[k] for k in ("seed", "model", "grpo", "reward")}, sort_keys=True))
    data_path = data_path or config["grpo"]["data"]
    if not data_path:
        raise ConfigError("no RL data: pass --data FILE or set grpo.data")
    run = setup(config, data_path, out, init or config["grpo"]["init"], reward_funcs, extra_reward_funcs)
    try:
        train(config, run, out, resume, callbacks)
        return save(config, run, out, started)
    finally:
        if run["scorer"] is not None:
            run["scorer"].close()
