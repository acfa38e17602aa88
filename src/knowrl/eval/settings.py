"""The ``eval`` config section as a small dataclass (every field is described in config.schema.json)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from knowrl.errors import ConfigError
from knowrl.prompts import PROMPT_VARIANTS


@dataclass
class EvalConfig:
    backend: str = "transformers"
    device: str = "cpu"
    dtype: str = "auto"
    prompt_variant: str = "default"
    temperature: float = 0.0
    avg_k: int = 5
    avg_temperature: float = 0.6
    max_new_tokens: int = 1024
    batch_size: int = 8
    bootstrap_samples: int = 1000
    confidence: float = 0.95
    seed: int = 42
    truthfulqa_no_comment: bool = True
    paper_model: str | None = None
    generator: dict[str, Any] = field(default_factory=dict)
    benchmarks: dict[str, dict[str, Any]] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.prompt_variant not in PROMPT_VARIANTS:
            raise ConfigError(f"eval.prompt_variant {self.prompt_variant!r} is not one of {PROMPT_VARIANTS}")
        if self.avg_k > 0 and self.avg_temperature <= 0:
            raise ConfigError("eval.avg_temperature must be > 0 when eval.avg_k > 0 (Avg@k samples)")
        if not 0 < self.confidence < 1:
            raise ConfigError(f"eval.confidence must be in (0, 1), got {self.confidence}")

    @classmethod
    def from_config(cls, config: dict) -> "EvalConfig":
        section = dict(config.get("eval", {}))
        if section.get("seed") is None:
            section["seed"] = config.get("seed", 42)
        if section.get("prompt_variant") is None:
            section["prompt_variant"] = config.get("model", {}).get("prompt_variant") or "default"
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in section.items() if k in known})

    def benchmark(self, name: str) -> dict[str, Any]:
        """``{"path", "n", "sha256"}`` of a configured benchmark (all None when not configured)."""
        entry = {"path": None, "n": None, "sha256": None}
        entry.update(self.benchmarks.get(name) or {})
        return entry
