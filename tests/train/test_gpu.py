"""The same smoke on CUDA: bf16 + gradient checkpointing, then vLLM colocated generation where vllm imports.
Marked ``gpu`` (deselected by default; run with ``pytest -m gpu tests/train``). Not run in this session: no GPU."""

from __future__ import annotations

import importlib.util
import math

import pytest

from knowrl.artifact import verify_sums
from knowrl.files import read_json



def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not _cuda(), reason="needs a CUDA GPU")]

CUDA = ["sft.precision=bf16", "grpo.precision=bf16", "sft.gradient_checkpointing=true",
        "grpo.gradient_checkpointing=true", "grpo.memory.check=true"]


@pytest.mark.parametrize("generation", [
    "transformers",
    pytest.param("vllm", marks=pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="no vllm")),
])
def test_bf16_sft_then_grpo_on_cuda(tmp_path, make_config, demo_data, generation):
    from knowrl.train import grpo, sft

    extra = [f"grpo.generation.backend={generation}", "grpo.generation.vllm_gpu_memory_utilization=0.3"]
    config = make_config(*CUDA, *extra)
    sft_out = sft.main(config, demo_data["coldstart"], tmp_path / "sft")
    grpo_out = grpo.main(config, demo_data["rl"], tmp_path / "grpo", init=str(sft_out))
    for out in (sft_out, grpo_out):
        summary = read_json(out / "summary.json")
        assert summary["global_step"] == 2 and math.isfinite(summary["train_loss"])
        assert verify_sums(out).ok
    assert read_json(grpo_out / "provenance.json")["hardware"]["cuda"]
