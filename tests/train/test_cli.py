"""The train CLI: help without heavy imports, demo data, the plan, one-line errors for unavailable GPU stacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from knowrl.cli import main
from knowrl.errors import ConfigError


def test_help_is_light():
    code = ("import sys; from knowrl.cli import build_parser; build_parser(); "
            "print(any(m in sys.modules for m in ('torch', 'trl', 'transformers')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_data_demo_and_plan(tmp_path, demo_corpus, capsys):
    assert main(["data", "demo", "--corpus", str(demo_corpus), "--out", str(tmp_path / "d"),
                 "--n-sft", "4", "--n-rl", "4"]) == 0
    assert json.loads(capsys.readouterr().out)["n_rl"] == 4
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({
        "hidden_size": 3584, "intermediate_size": 18944, "num_attention_heads": 28, "num_hidden_layers": 28,
        "num_key_value_heads": 4, "vocab_size": 152064}))
    assert main(["train", "plan", "grpo", "--profile", "a800", "--gpu-gb", "80", "--model", str(model)]) == 0
    assert "verdict: fits" in capsys.readouterr().out
    assert main(["train", "plan", "grpo", "--profile", "a800", "--gpu-gb", "40", "--model", str(model)]) == 1


def test_missing_data_is_a_one_line_error(capsys):
    assert main(["train", "sft", "--profile", "smoke"]) == 2
    assert capsys.readouterr().err.strip() == "knowrl: error: no cold-start data: pass --data FILE or set sft.data"


@pytest.mark.parametrize("override, message", [
    ("grpo.generation.backend=vllm", "needs a CUDA GPU"),
    ("grpo.precision=bf16", "needs a CUDA GPU"),
    ("grpo.num_generations=3", "must be a multiple of grpo.num_generations"),
])
def test_unavailable_gpu_paths_are_clear_errors(override, message, tmp_path):
    import torch

    from knowrl.config import load_config
    from knowrl.train.grpo import grpo_args

    if torch.cuda.is_available():
        pytest.skip("CPU-only check")
    with pytest.raises(ConfigError, match=message):
        grpo_args(load_config(profile="smoke", overrides=[override]), tmp_path)


def test_unsloth_without_gpu_is_a_clear_error():
    import torch

    from knowrl.train.models import require_unsloth

    if torch.cuda.is_available():
        pytest.skip("CPU-only check")
    with pytest.raises(ConfigError, match="model.backend=unsloth needs an NVIDIA GPU"):
        require_unsloth()
