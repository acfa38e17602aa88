"""TRL reward functions bound to one ``RewardScorer``: ``f(prompts, completions, **columns) -> list[float | None]``.

A completion the scorer cannot score (judge down, unparseable grade, failed decomposition or fact check) gets
``None`` from *every* function of the variant, format included. TRL 1.16 sums the functions with ``nansum`` and
treats a row as unscorable (no reward, advantage 0, left out of the group baseline) only when all of them are
``None``; one number in the row (say the format reward) would otherwise become its whole reward.

The examples run with the model-free ``rule`` judge and a KB without pages (``example_scorer``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

RewardFunc = Callable[..., list]


def _named(fn: RewardFunc, name: str, doc: str) -> RewardFunc:
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def component_rewards(outcomes: list, name: str) -> list[float | None]:
    """One component per completion, ``None`` for every completion whose total could not be scored."""
    return [o.components[name] if o.scorable else None for o in outcomes]


def make_format_reward(scorer: Any) -> RewardFunc:
    """r_format per completion (METHOD 3.1: +1 well formed, -1 otherwise), ``None`` where the completion is unscorable.

    >>> scorer, good, idk = example_scorer()
    >>> f = make_format_reward(scorer)
    >>> f(None, [good, "no tags"], question=["Capital of France?"] * 2, answers=["Paris"] * 2, title=["Paris"] * 2)
    [1.0, -1.0]
    """
    def format_reward(prompts=None, completions=(), **columns) -> list[float | None]:
        return component_rewards(scorer.score(prompts, completions, consumer="format_reward", **columns), "format")

    return _named(format_reward, "format_reward", make_format_reward.__doc__)


def make_correctness_reward(scorer: Any) -> RewardFunc:
    """r_correct per completion: CORRECT 2, NOT_ATTEMPTED abstain value (june: -1), INCORRECT/no answer -1.

    >>> scorer, good, idk = example_scorer()
    >>> f = make_correctness_reward(scorer)
    >>> f(None, [good, idk, "no tags"], question=["Capital of France?"] * 3, answers=["Paris"] * 3,
    ...   title=["Paris"] * 3)
    [2.0, 1.0, -1.0]
    """
    def correctness_reward(prompts=None, completions=(), **columns) -> list[float | None]:
        outcomes = scorer.score(prompts, completions, consumer="correctness_reward", **columns)
        return component_rewards(outcomes, "correct")

    return _named(correctness_reward, "correctness_reward", make_correctness_reward.__doc__)


def make_factuality_reward(scorer: Any) -> RewardFunc:
    """r_fact per completion (METHOD 3.3); None where the completion is unscorable. (In ``paper``, the variant that
    uses it, every completion's facts are scored.)

    >>> scorer, good, idk = example_scorer()
    >>> f = make_factuality_reward(scorer)
    >>> f(None, [good], question=["Capital of France?"], answers=["Lyon"], title=["Paris"])   # no passages
    [0.0]
    """
    def factuality_reward(prompts=None, completions=(), **columns) -> list[float | None]:
        outcomes = scorer.score(prompts, completions, consumer="factuality_reward", **columns)
        return component_rewards(outcomes, "fact")

    return _named(factuality_reward, "factuality_reward", make_factuality_reward.__doc__)


def make_combined_reward(scorer: Any) -> RewardFunc:
    """``code``/``june`` combined reward: -1 + r_fact for a wrong or missing answer that is not a refusal,
    else r_correct (TRL adds ``format_reward``).

    >>> scorer, good, idk = example_scorer()
    >>> f = make_combined_reward(scorer)
    >>> f(None, [good, idk], question=["Capital of France?"] * 2, answers=["Paris"] * 2, title=["Paris"] * 2)
    [2.0, 1.0]
    """
    def combined_reward(prompts=None, completions=(), **columns) -> list[float | None]:
        outcomes = scorer.score(prompts, completions, consumer="combined_reward", **columns)
        return component_rewards(outcomes, "combined")

    return _named(combined_reward, "combined_reward", make_combined_reward.__doc__)


def reward_functions_for(scorer: Any) -> list[RewardFunc]:
    """``code``/``june``: format + combined; ``paper``: format + correctness + factuality (all bound to the
    scorer, so an unscorable completion is ``None`` in each)."""
    if scorer.settings.variant == "paper":
        return [make_format_reward(scorer), make_correctness_reward(scorer), make_factuality_reward(scorer)]
    return [make_format_reward(scorer), make_combined_reward(scorer)]


class EmptyKB:
    """A stand-in knowledge base with no pages (examples and tests of the reward arithmetic only)."""

    manifest: dict = {}
    manifest_sha256 = "empty"

    def passages_for_titles(self, titles):
        return [], list(titles)

    def search(self, queries, k=5, titles=None, mode="hybrid"):
        return [[] for _ in queries]

    def encode(self, texts):
        return np.zeros((len(texts), 8), dtype=np.float32)

    def embedder_identity(self) -> dict:
        return {"model": "none"}

    def close(self) -> None:
        pass


def example_scorer(variant: str = "code") -> tuple[Any, str, str]:
    """A scorer with the ``rule`` judge and ``EmptyKB``, plus a well-formed answer and a refusal (doc examples)."""
    from knowrl.judge import get_judge
    from knowrl.rewards.scorer import RewardScorer

    cfg = {"reward": {"variant": variant}, "facts": {"decomposer": "rule"}}
    scorer = RewardScorer.from_config(cfg, kb=EmptyKB(), judge=get_judge({"backend": "rule", "cache": None}))
    good = "<think>Paris is the capital of France.</think><answer>Paris</answer>"
    idk = "<think>Not sure.</think><answer>I don't know.</answer>"
    return scorer, good, idk
