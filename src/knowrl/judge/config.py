"""The judge section of the config as a small dataclass; defaults come from the schema (one source of truth)."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field, fields
from typing import Any

from knowrl.errors import ConfigError

JUDGE_URL_ENV = "KNOWRL_JUDGE_URL"  # set by `knowrl judge run` for the command it wraps


@dataclass
class JudgeConfig:
    """See ``config/config.schema.json`` (section ``judge``) for the meaning of every field."""

    backend: str = "rule"
    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = "OPENAI_API_KEY"
    concurrency: int = 4
    timeout_s: float = 120.0
    retries: int = 3
    backoff_s: float = 0.5
    breaker_threshold: int = 5
    breaker_cooldown_s: float = 30.0
    cache: str | None = "results/judge/cache.sqlite"
    memory_cache_mb: float = 64.0
    max_tokens: int | None = None
    temperature: float = 0.0
    seed: int = 42
    output_mode: str = "auto"
    log_dir: str = "logs/judge"
    startup_timeout_s: float = 600.0
    port: int | None = None
    vllm: dict = field(default_factory=dict)
    llamacpp: dict = field(default_factory=dict)
    transformers: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.output_mode not in ("auto", "json", "text", "choice"):
            raise ConfigError(f"judge.output_mode must be auto, json, text or choice, not {self.output_mode!r}")
        if self.concurrency < 1:
            raise ConfigError("judge.concurrency must be at least 1")

    @classmethod
    def from_dict(cls, section: dict | None) -> "JudgeConfig":
        """Accept ``config["judge"]`` (or a whole config holding it); missing keys take the schema defaults."""
        section = dict(section or {})
        if "judge" in section and "backend" not in section:
            section = dict(section["judge"])
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(section) - known)
        if unknown:
            raise ConfigError(f"unknown judge setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**_with_schema_defaults(section))

    def reuse_url(self) -> str | None:
        """URL of a running server to reuse: ``base_url``, else ``$KNOWRL_JUDGE_URL`` (managed backends only)."""
        if self.base_url:
            return self.base_url
        return os.environ.get(JUDGE_URL_ENV) or None if self.backend in ("llamacpp", "vllm") else None

    def api_key(self) -> str | None:
        """The key this backend sends as ``Authorization``: ``openai`` reads ``api_key_env``; ``llamacpp`` and
        ``vllm`` (started or reused) read only their own ``<backend>.api_key_env`` (null: no header), so the
        hosted API's key never reaches a local server."""
        if self.backend == "openai":
            name = self.api_key_env
        elif self.backend in ("llamacpp", "vllm"):
            name = getattr(self, self.backend).get("api_key_env")
        else:
            name = None
        return os.environ.get(name) if name else None

    def public(self) -> dict[str, Any]:
        """Settings safe to record: everything except secrets (the key's variable NAME is fine)."""
        return {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)}


def _with_schema_defaults(section: dict) -> dict:
    try:
        from knowrl.config import fill_defaults, load_schema

        schema = load_schema()["properties"]["judge"]
    except (ConfigError, KeyError, OSError):
        return section  # schema unavailable (installed without the config folder): dataclass defaults
    return fill_defaults(copy.deepcopy(section), schema)
