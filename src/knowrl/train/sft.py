"""``knowrl train sft``: LoRA cold-start SFT on ShareGPT traces (METHOD 5), loss on the assistant turn only.

setup (policy, tokenizer, tokenized data, TRL config) -> train (TRL ``SFTTrainer``, checkpoints sealed with
SHA256SUMS + provenance, resumable) -> save (``adapter/``, optionally ``merged/`` = base + adapter, the GRPO start).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from knowrl.config import config_hash
from knowrl.errors import ConfigError
from knowrl.files import write_json_atomic
from knowrl.train import checkpoints, data, launch, memory, models, monitor

log = logging.getLogger(__name__)


def sft_args(config: dict, out: Path) -> Any:
    """TRL ``SFTConfig`` from the ``sft`` section (precision resolved for the device)."""
    from trl import SFTConfig

    sft = config["sft"]
    precision = models.resolve_precision(sft["precision"])
    return SFTConfig(
        output_dir=str(out), seed=config["seed"], data_seed=config["seed"],
        max_length=sft["max_length"], completion_only_loss=True, packing=False,
        num_train_epochs=sft["num_epochs"], max_steps=sft["max_steps"],
        per_device_train_batch_size=sft["per_device_batch_size"],
        gradient_accumulation_steps=sft["gradient_accumulation_steps"],
        learning_rate=sft["learning_rate"], lr_scheduler_type=sft["lr_scheduler"], warmup_steps=sft["warmup_ratio"],
        optim=sft["optim"], weight_decay=sft["weight_decay"], max_grad_norm=sft["max_grad_norm"],
        bf16=precision == "bf16", fp16=precision == "fp16",
        gradient_checkpointing=sft["gradient_checkpointing"],
        logging_steps=sft["logging_steps"], logging_first_step=True,
        save_strategy="steps", save_steps=sft["save_steps"], save_total_limit=sft["save_total_limit"],
        report_to=monitor.report_to(sft["report_to"]), dataloader_num_workers=0, dataloader_pin_memory=False,
        disable_tqdm=True,
        # across processes: every LoRA weight is used in each step (no unused-parameter search), and the tokens
        # seen (gathered from all ranks) are logged, evidence that the global batch covers the same examples
        ddp_find_unused_parameters=False, include_num_input_tokens_seen="non_padding",
    )


def setup(config: dict, data_path: str | os.PathLike, out: Path) -> dict[str, Any]:
    """Base policy folder, tokenizer, tokenized dataset, model and TRL arguments."""
    sft, variant = config["sft"], config["model"]["prompt_variant"]
    with launch.main_process_first():  # a GGUF policy is converted once, by rank 0
        base = models.resolve_policy(config)
    memory.check_plan(config, "sft", base)
    pairs = data.load_coldstart(data_path, sft["max_samples"])
    if config["model"]["backend"] == "unsloth":
        model, tokenizer = models.load_unsloth(base, config, sft["lora"], sft["max_length"],
                                               sft["gradient_checkpointing"], config["seed"])
        peft_config = None
    else:
        tokenizer = models.load_tokenizer(base, config)
        model = models.load_model(base, config, sft["precision"])
        peft_config = models.lora_config(sft["lora"])
    dataset = data.sft_dataset(pairs, tokenizer, variant)
    log.info("SFT data: %d conversations from %s (prompt variant %s)", len(pairs), data_path, variant)
    return {"base": base, "tokenizer": tokenizer, "model": model, "dataset": dataset, "peft_config": peft_config,
            "args": sft_args(config, out), "data_path": str(data_path)}


def train(config: dict, run: dict, out: Path, resume: str | None = None, callbacks: list | None = None) -> Any:
    """Run TRL's SFTTrainer; every checkpoint is sealed; ``resume`` as :func:`checkpoints.resolve_resume` takes it."""
    from trl import SFTTrainer

    checkpoints.check_fresh_output(out, resume)
    hashes = checkpoints.file_hashes({"coldstart_data": run["data_path"]})
    checkpoint = checkpoints.resolve_resume(out, resume, config, hashes)
    sealer = checkpoints.ProvenanceCallback(config, "sft", lambda: {"data": hashes, "base_model": str(run["base"])})
    trainer = SFTTrainer(model=run["model"], args=run["args"], train_dataset=run["dataset"],
                         processing_class=run["tokenizer"], peft_config=run["peft_config"],
                         callbacks=[sealer, monitor.MetricsFileCallback(out), *(callbacks or [])])
    place_tensorboard(trainer, out)
    launch.plain_cpu_device(trainer)
    log.info("SFT on %d process(es): global batch %d = %d x %d per device x %d accumulation",
             trainer.args.world_size, launch.global_batch(trainer.args), trainer.args.world_size,
             trainer.args.per_device_train_batch_size, trainer.args.gradient_accumulation_steps)
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    run.update(trainer=trainer, result=result, hashes=hashes, resumed_from=str(checkpoint) if checkpoint else None)
    return trainer


def save(config: dict, run: dict, out: Path, started: float) -> Path:
    """``adapter/`` (+ ``merged/``), ``summary.json``, then provenance + SHA256SUMS over the whole folder (rank 0
    writes; every rank takes part in ``save_model``, which gathers sharded weights under FSDP / ZeRO-3)."""
    trainer = run["trainer"]
    trainer.save_model(str(out / "adapter"))
    if trainer.is_world_process_zero():
        run["tokenizer"].save_pretrained(str(out / "adapter"))
        if config["sft"]["merge"]:
            models.merge_adapter(run["base"], out / "adapter", out / "merged", config)
        history = [row for row in trainer.state.log_history if "loss" in row]
        summary = {"global_step": trainer.state.global_step, "train_loss": run["result"].training_loss,
                   "first_loss": history[0]["loss"] if history else None,
                   "last_loss": history[-1]["loss"] if history else None, "resumed_from": run["resumed_from"],
                   "processes": trainer.args.world_size, "global_batch": launch.global_batch(trainer.args),
                   "num_input_tokens_seen": trainer.state.num_input_tokens_seen}
        write_json_atomic(out / "summary.json", summary)
        checkpoints.seal(out, config, stage="sft", data=run["hashes"], base_model=str(run["base"]), summary=summary,
                         seed=config["seed"], wall_time_s=round(time.time() - started, 3))
        log.info("SFT done: %s (adapter%s)", out, " + merged" if config["sft"]["merge"] else "")
    checkpoints.barrier()  # no rank returns before the output is sealed
    return out


def place_tensorboard(trainer: Any, out: Path) -> None:
    """TensorBoard events in ``out/tensorboard`` (transformers 5 dropped ``logging_dir``; the callback keeps it)."""
    from transformers.integrations import TensorBoardCallback

    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, TensorBoardCallback):
            callback.logging_dir = str(out / "tensorboard")


def main(config: dict, data_path: str | None = None, out: str | os.PathLike = "results/sft",
         resume: str | None = None, callbacks: list | None = None) -> Path:
    """Cold-start SFT end to end; returns the output folder."""
    started, out = time.time(), Path(out)
    log.info("resolved config (sha256 %s): %s", config_hash(config)[:12],
             json.dumps({k: config[k] for k in ("seed", "model", "sft")}, sort_keys=True))
    data_path = data_path or config["sft"]["data"]
    if not data_path:
        raise ConfigError("no cold-start data: pass --data FILE or set sft.data")
    run = setup(config, data_path, out)
    train(config, run, out, resume, callbacks)
    return save(config, run, out, started)
