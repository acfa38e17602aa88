"""The GPU memory plan (pure): the paper's 7B GRPO run fits an 80 GB A800/H100; impossible plans are refused
naming the setting to change."""

from __future__ import annotations

import json

import pytest

from knowrl.config import load_config
from knowrl.train.memory import ModelShape, plan_for_run, plan_memory

# DeepSeek-R1-Distill-Qwen-7B / Skywork-OR1-7B (Qwen2-7B architecture), from their config.json
QWEN2_7B = {"hidden_size": 3584, "intermediate_size": 18944, "num_attention_heads": 28, "num_hidden_layers": 28,
            "num_key_value_heads": 4, "vocab_size": 152064, "tie_word_embeddings": False}


@pytest.fixture()
def model_dir(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(QWEN2_7B))
    return tmp_path


def test_shape_counts_the_7b_parameters_and_lora():
    shape = ModelShape.from_config(QWEN2_7B)
    assert 7.0e9 < shape.params < 7.7e9                      # 7.6B with untied embeddings (biases ignored)
    lora = shape.lora_params(128, ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    assert lora == 28 * 128 * 90112                          # r x (in + out) summed over the 7 projections


@pytest.mark.parametrize("stage", ["grpo", "sft"])
def test_paper_settings_fit_an_80gb_gpu(model_dir, stage):
    config = load_config(profile="a800", overrides=["grpo.memory.gpu_gb=80"])
    plan = plan_for_run(config, stage, model_dir)
    assert plan.fits, plan.render()
    assert plan.items["policy weights"] == pytest.approx(7.6e9 * 2 / 2**30, rel=0.02)   # bf16 weights
    if stage == "grpo":
        assert plan.vllm_gib == 20.0 and plan.vllm_need_gib < plan.vllm_gib             # vLLM colocated at 0.25
        assert plan.judge_gib == 20.0 and plan.budget_gib == 80 - 20 - 20 - 2            # + the vLLM judge's 0.25


@pytest.mark.parametrize("overrides, setting", [
    # 40 GB GPU, the paper's split (vLLM 0.5, an API judge): too little left for 20 sequences of 1280 tokens
    (["grpo.memory.gpu_gb=40", "grpo.generation.vllm_gpu_memory_utilization=0.5", "judge.backend=openai",
      "judge.model=gpt-4o-mini"], "grpo.per_device_batch_size"),
    # the paper's 0.5 colocation beside a local vLLM judge at 0.3 leaves 14 GiB for a 31 GiB training run
    (["grpo.generation.vllm_gpu_memory_utilization=0.5", "judge.vllm.gpu_memory_utilization=0.3"],
     "lower grpo.generation.vllm_gpu_memory_utilization"),
    # the same with generation at 0.25: the judge's 0.55 share is what to give back
    (["judge.vllm.gpu_memory_utilization=0.55"], "judge.vllm.gpu_memory_utilization"),
    # no gradient checkpointing: every layer's activations are kept
    (["grpo.gradient_checkpointing=false"], "grpo.gradient_checkpointing=true"),
    # vLLM share too small to hold a copy of the 7B weights
    (["grpo.generation.vllm_gpu_memory_utilization=0.1"], "grpo.generation.vllm_gpu_memory_utilization"),
    # another model (an NLI verifier, an in-process judge) placed on the training GPU
    (["grpo.memory.extra_gb=30"], "grpo.memory.extra_gb"),
    # 16 GB card, judge served elsewhere: the weights alone exceed the training budget
    (["grpo.memory.gpu_gb=16", "grpo.generation.backend=transformers", "judge.base_url=http://127.0.0.1:9/v1"],
     "model.policy"),
    # 24 GB card without vLLM (judge served elsewhere): the weights fit, 20 sequences per micro-batch do not
    (["grpo.memory.gpu_gb=24", "grpo.generation.backend=transformers", "judge.base_url=http://127.0.0.1:9/v1"],
     "grpo.per_device_batch_size"),
])
def test_impossible_plans_name_the_setting(model_dir, overrides, setting):
    config = load_config(profile="a800", overrides=["grpo.memory.gpu_gb=80", *overrides])
    plan = plan_for_run(config, "grpo", model_dir)
    assert not plan.fits and setting in plan.advice, plan.render()
    assert "DOES NOT FIT" in plan.render()


def test_tiny_model_plan_fits_anything_reasonable():
    shape = ModelShape(params=1.35e8, layers=30, hidden=576, intermediate=1536, heads=9, kv_heads=3, vocab=49152)
    plan = plan_memory(shape, section="grpo", weight_bytes=2, lora_r=16, lora_targets=["q_proj", "v_proj"],
                       optim="adamw_torch", micro_batch=8, seq_len=384, scored_len=128,
                       gradient_checkpointing=False, gpu_gib=16)
    assert plan.fits and plan.total_gib < 4


def test_multi_gpu_overlay_plans_training_and_server_gpus(model_dir):
    """config/profiles/a800x4.yaml over a800: 2 training GPUs without a vLLM share, a tensor-parallel-2 vLLM
    server whose GPUs each hold half the weights (+ one sequence's KV cache); a server too small is refused."""
    from knowrl.config import config_dir

    overlay = [config_dir() / "profiles" / "a800x4.yaml"]
    config = load_config(profile="a800", files=overlay, overrides=["grpo.memory.gpu_gb=80"])
    plan = plan_for_run(config, "grpo", model_dir)
    assert plan.fits and plan.vllm_gib == 0, plan.render()                          # nothing of vLLM here
    assert plan.server_gpus == 2 and plan.server_gib == pytest.approx(72.0)          # 0.9 x 80 GiB per server GPU
    assert plan.server_need_gib == pytest.approx(7.6e9 * 2 / 2 / 2**30, rel=0.03)    # half the bf16 weights + KV
    assert "vLLM server, per GPU" in plan.render()
    small = load_config(profile="a800", files=overlay, overrides=[
        "grpo.memory.gpu_gb=80", "grpo.generation.vllm_server.tensor_parallel_size=1",
        "grpo.generation.vllm_server.gpu_memory_utilization=0.15"])                  # 12 GiB < 14.2 GiB of weights
    refused = plan_for_run(small, "grpo", model_dir)
    assert not refused.fits and "grpo.generation.vllm_server.tensor_parallel_size" in refused.advice


@pytest.mark.parametrize("judge_share, fits, advice", [
    (0.25, True, None),                                   # a800: 20 GiB holds the 7B judge (14.4 GiB) + KV
    (0.15, False, "raise judge.vllm.gpu_memory_utilization"),   # 12 GiB cannot hold the 7B judge
])
def test_a_staged_vllm_judge_must_fit_its_share(model_dir, judge_share, fits, advice):
    config = load_config(profile="a800", overrides=["grpo.memory.gpu_gb=80", f"judge.model={model_dir}",
                                                    f"judge.vllm.gpu_memory_utilization={judge_share}"])
    plan = plan_for_run(config, "grpo", model_dir)
    assert plan.judge_need_gib == pytest.approx((7.6e9 * 2 + 2 * 28 * 4 * 128 * 4096 * 2) / 2**30, rel=0.03)
    assert plan.fits is fits and (advice is None or advice in plan.advice), plan.render()


@pytest.mark.parametrize("overrides", [
    ["judge.backend=openai", "judge.model=gpt-4o-mini"],  # an API judge: nothing on this GPU
    ["judge.base_url=http://127.0.0.1:9/v1"],             # a shared vLLM judge served elsewhere
])
def test_a_judge_off_this_gpu_takes_no_share(model_dir, overrides):
    config = load_config(profile="a800", overrides=["grpo.memory.gpu_gb=80", *overrides])
    plan = plan_for_run(config, "grpo", model_dir)
    assert plan.judge_gib == 0 and plan.budget_gib == 80 - 20 - 2 and "judge share" not in plan.render()
