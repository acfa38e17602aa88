"""Which weights a table row evaluates: a train output folder (``knowrl train sft|grpo --out DIR``) -> model + adapter.

A train folder holds ``adapter/`` (always), ``merged/`` (optional) and ``provenance.json`` naming the model the
adapter sits on (``start_policy`` for GRPO, ``base_model`` for SFT). ``merged/`` wins when present; otherwise the
adapter is applied to that recorded model. The folder's SHA256SUMS is checked first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from knowrl.artifact import verify_sums
from knowrl.errors import InputError
from knowrl.files import read_json


@dataclass(frozen=True)
class ModelSpec:
    """``model`` None = ``model.policy`` (the configured base); ``adapter`` None = no adapter."""

    model: str | None = None
    adapter: str | None = None
    checkpoint: str | None = None


def resolve_checkpoint(folder: str | Path, model: str | None = None) -> ModelSpec:
    """Model + adapter of a train output folder; ``model`` overrides the base recorded in its provenance."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"checkpoint folder not found: {folder}")
    if (folder / "SHA256SUMS").is_file():
        report = verify_sums(folder, allow_unlisted=True)
        if not report.ok:
            raise InputError(f"checkpoint {folder} does not match its SHA256SUMS: {report.summary()}")
    if (folder / "merged" / "config.json").is_file() and model is None:
        return ModelSpec(str(folder / "merged"), None, str(folder))
    adapter = folder / "adapter" if (folder / "adapter" / "adapter_config.json").is_file() else folder
    if not (adapter / "adapter_config.json").is_file():
        raise InputError(f"{folder} holds neither merged/ nor adapter/ (expected a `knowrl train` output)")
    if model is None and (folder / "provenance.json").is_file():
        record = read_json(folder / "provenance.json")
        model = record.get("start_policy") or record.get("base_model")
    return ModelSpec(model, str(adapter), str(folder))
