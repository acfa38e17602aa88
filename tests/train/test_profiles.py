"""The a800 profile resolves to the paper's settings (METHOD 4-5), read through the real config loader."""

from __future__ import annotations

from knowrl.config import load_config

ALL_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def test_a800_grpo_is_method_4():
    config = load_config(profile="a800")
    grpo = config["grpo"]
    assert config["seed"] == 42
    assert grpo["lora"] == {"r": 128, "alpha": 256, "dropout": 0.0, "target_modules": ALL_PROJECTIONS}
    assert (grpo["learning_rate"], grpo["lr_scheduler"], grpo["warmup_ratio"]) == (1e-5, "cosine", 0.03)
    assert grpo["optim"] == "adamw_bnb_8bit" and grpo["beta"] == 0.001
    assert (grpo["num_generations"], grpo["per_device_batch_size"], grpo["gradient_accumulation_steps"]) == (10, 20, 4)
    assert grpo["per_device_batch_size"] * grpo["gradient_accumulation_steps"] // grpo["num_generations"] == 8
    assert (grpo["max_steps"], grpo["max_prompt_length"], grpo["max_completion_length"]) == (150, 256, 1024)
    assert grpo["precision"] == "bf16" and grpo["gradient_checkpointing"] is True
    assert grpo["generation"]["backend"] == "vllm" and grpo["generation"]["vllm_mode"] == "colocate"
    # the paper's 0.5 assumed an API judge; here a local vLLM judge takes 0.25 of the GPU and generation 0.25
    assert grpo["generation"]["vllm_gpu_memory_utilization"] == 0.25
    assert config["judge"]["backend"] == "vllm" and config["judge"]["vllm"]["gpu_memory_utilization"] == 0.25
    assert (grpo["loss_type"], grpo["epsilon"], grpo["scale_rewards"], grpo["temperature"]) == ("dapo", 0.2, "group", 1.0)


def test_a800_sft_is_method_5():
    sft = load_config(profile="a800")["sft"]
    assert sft["lora"]["r"] == 256 and sft["lora"]["alpha"] == 512
    assert sft["lora"]["target_modules"] == ["q_proj", "v_proj"]
    assert (sft["learning_rate"], sft["lr_scheduler"], sft["warmup_ratio"]) == (1e-4, "cosine", 0.1)
    assert (sft["num_epochs"], sft["per_device_batch_size"], sft["max_length"], sft["precision"]) == (4, 2, 3072, "fp16")


def test_defaults_and_smoke_are_cpu_sized():
    for config in (load_config(), load_config(profile="smoke")):
        assert config["model"]["policy"] is None                     # the embedded tiny GGUF
        assert config["grpo"]["generation"]["backend"] == "transformers"
        # short completions: the smoke SFT teaches the format on short traces (<think>..</answer> fits in 64)
        assert config["grpo"]["precision"] == "auto" and config["grpo"]["max_completion_length"] <= 64
        assert config["grpo"]["lora"]["r"] <= 16
    smoke = load_config(profile="smoke")
    # the smoke run trains long enough to move on the demo data, yet stays CPU-sized
    assert smoke["grpo"]["max_steps"] <= 60 and smoke["sft"]["max_steps"] <= 60
    assert smoke["grpo"]["per_device_batch_size"] % smoke["grpo"]["num_generations"] == 0
