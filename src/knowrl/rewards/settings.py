"""The ``reward`` config section as a small typed object (defaults mirror config.schema.json)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from knowrl.errors import ConfigError
from knowrl.rewards.values import VARIANTS, RewardValues

FAILED_FACT_POLICIES = ("unscored", "unsupported")


@dataclass(frozen=True)
class LogSettings:
    dir: str | None = None            # per-completion JSONL log folder; None = no log (the trainer sets one)
    rotate_mb: float = 64.0           # start a new file past this size; old files are kept, never re-read


@dataclass(frozen=True)
class RewardSettings:
    variant: str = "code"             # code | paper | june (METHOD 3, values.py)
    abstain_value: float = 1.0        # NOT_ATTEMPTED reward in code/paper (the paper's ablation: -1)
    score_facts_for_all: bool = False # code/june: also score facts of completions where r_fact cannot matter
    length_penalty_gamma: int = 10    # FActScore length penalty (code variant)
    june_fact_cap: int = 15           # june variant: r_fact = min(supported / cap, 1)
    skip_judge_for_plain_refusal: bool = True  # "I don't know." is NOT_ATTEMPTED without a judge call
    failed_fact: str = "unscored"     # a fact whose retrieval/verification failed: unscored (r_fact None) | unsupported
    log: LogSettings = field(default_factory=LogSettings)

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ConfigError(f"reward.variant {self.variant!r} is not one of {', '.join(VARIANTS)}")
        if self.length_penalty_gamma < 1 or self.june_fact_cap < 1:
            raise ConfigError("reward.length_penalty_gamma and reward.june_fact_cap must be >= 1")
        if self.failed_fact not in FAILED_FACT_POLICIES:
            raise ConfigError(f"reward.failed_fact {self.failed_fact!r} is not one of {', '.join(FAILED_FACT_POLICIES)}")

    @property
    def values(self) -> RewardValues:
        return RewardValues(self.variant, self.abstain_value, self.length_penalty_gamma, self.june_fact_cap)

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> "RewardSettings":
        """From the whole resolved config or its ``reward`` section."""
        section = dict((config or {}).get("reward", config or {}))
        log = LogSettings(**section.pop("log", {}))
        known = {k: v for k, v in section.items() if k in cls.__dataclass_fields__}
        return cls(log=log, **known)
