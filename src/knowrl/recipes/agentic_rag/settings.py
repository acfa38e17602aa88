"""The ``agentic_rag`` config section as one typed dataclass (cross-field checks in ``__post_init__``)."""

from __future__ import annotations

from dataclasses import dataclass

from knowrl.errors import ConfigError

MODES = ("bm25", "dense", "hybrid")
REWARD_VARIANTS = ("em", "f1", "em_format", "search_r1")


@dataclass(frozen=True)
class RagSettings:
    """Rollout, retrieval, reward and alarm settings of the recipe (schema: ``agentic_rag``)."""

    max_turns: int = 2            # model turns that may search before the forced final one
    turn_tokens: int = 64         # new tokens per generation call
    budget: int = 192             # total completion tokens across turns (= grpo.max_completion_length)
    observation_tokens: int = 96  # cap on one <information> block's passage text
    mode: str = "bm25"            # KB search mode
    k: int = 3                    # passages per search
    batched: bool = True          # one KB call per generation round (False: one call per search; benchmark)
    reward: str = "em"            # em | f1 | em_format | search_r1
    format_weight: float = 0.2    # weight of the format term in em_format
    length_window: int = 3        # logged steps the mean completion length must keep growing before the alarm
    length_growth: float = 1.25   # ... by at least this factor over the window
    length_stop: bool = False     # stop training (after a save) when the alarm fires

    def __post_init__(self):
        if self.mode not in MODES:
            raise ConfigError(f"agentic_rag.retriever.mode {self.mode!r}: use one of {', '.join(MODES)}")
        if self.reward not in REWARD_VARIANTS:
            raise ConfigError(f"agentic_rag.reward.variant {self.reward!r}: use one of {', '.join(REWARD_VARIANTS)}")
        if min(self.turn_tokens, self.budget, self.observation_tokens, self.k) < 1 or self.max_turns < 0:
            raise ConfigError("agentic_rag: turn_tokens, observation_tokens, k and the budget must be >= 1, "
                              "max_turns >= 0")
        if self.turn_tokens > self.budget:
            raise ConfigError(f"agentic_rag.rollout.turn_tokens ({self.turn_tokens}) exceeds the total budget "
                              f"grpo.max_completion_length ({self.budget})")

    @classmethod
    def from_config(cls, config: dict) -> "RagSettings":
        section = config["agentic_rag"]
        rollout, retriever, reward, alarm = (section[k] for k in ("rollout", "retriever", "reward", "length_alarm"))
        return cls(max_turns=rollout["max_turns"], turn_tokens=rollout["turn_tokens"],
                   budget=config["grpo"]["max_completion_length"], observation_tokens=rollout["observation_tokens"],
                   mode=retriever["mode"], k=retriever["k"], batched=retriever["batched"],
                   reward=reward["variant"], format_weight=reward["format_weight"],
                   length_window=alarm["window"], length_growth=alarm["growth"], length_stop=alarm["stop"])
