"""Resolving a train output folder into the weights a table row evaluates (no model is loaded)."""

from __future__ import annotations

import json

import pytest

from knowrl.artifact import write_sums
from knowrl.errors import InputError
from knowrl.eval.checkpoints import ModelSpec, resolve_checkpoint


def _train_folder(root, merged=False, record=None):
    (root / "adapter").mkdir(parents=True)
    (root / "adapter" / "adapter_config.json").write_text("{}")
    if merged:
        (root / "merged").mkdir()
        (root / "merged" / "config.json").write_text("{}")
    (root / "provenance.json").write_text(json.dumps(record or {}))
    write_sums(root)
    return root


def test_adapter_on_the_recorded_start_policy(tmp_path):
    grpo = _train_folder(tmp_path / "grpo", record={"stage": "grpo", "start_policy": "results/sft/merged"})
    assert resolve_checkpoint(grpo) == ModelSpec("results/sft/merged", str(grpo / "adapter"), str(grpo))
    sft = _train_folder(tmp_path / "sft", record={"stage": "sft", "base_model": "/models/base"})
    assert resolve_checkpoint(sft).model == "/models/base"
    # an explicit model wins over the recorded one
    assert resolve_checkpoint(sft, model="/other").model == "/other"


def test_merged_wins(tmp_path):
    folder = _train_folder(tmp_path / "sft", merged=True, record={"base_model": "/models/base"})
    assert resolve_checkpoint(folder) == ModelSpec(str(folder / "merged"), None, str(folder))


def test_tampered_or_empty_folders(tmp_path):
    folder = _train_folder(tmp_path / "grpo")
    (folder / "adapter" / "adapter_config.json").write_text('{"r": 1}')
    with pytest.raises(InputError, match="does not match its SHA256SUMS"):
        resolve_checkpoint(folder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="neither merged/ nor adapter/"):
        resolve_checkpoint(tmp_path / "empty")
    with pytest.raises(InputError, match="not found"):
        resolve_checkpoint(tmp_path / "missing")
