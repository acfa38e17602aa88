"""TRL reward functions bound to one ``RewardScorer``: ``f(prompts, completions, **columns) -> list[float | None]``.

The examples run with the model-free ``rule`` judge and a KB without pages (``example_scorer``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from knowrl.rewards.format import format_reward

RewardFunc = Callable[..., list]


def _named(fn: RewardFunc, name: str, doc: str) -> RewardFunc:
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


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
        return [o.components["correct"] for o in outcomes]

    return _named(correctness_reward, "correctness_reward", make_correctness_reward.__doc__)


def make_factuality_reward(scorer: Any) -> RewardFunc:
    """r_fact per completion (METHOD 3.3); None where it was not computed (lazy ``code``/``june``) or failed.

    >>> scorer, good, idk = example_scorer()
    >>> f = make_factuality_reward(scorer)
    >>> f(None, [good], question=["Capital of France?"], answers=["Lyon"], title=["Paris"])   # no passages
    [0.0]
    """
    def factuality_reward(prompts=None, completions=(), **columns) -> list[float | None]:
        outcomes = scorer.score(prompts, completions, consumer="factuality_reward", **columns)
        return [o.components["fact"] for o in outcomes]

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
        return [o.components["combined"] for o in outcomes]

    return _named(combined_reward, "combined_reward", make_combined_reward.__doc__)


def reward_functions_for(scorer: Any) -> list[RewardFunc]:
    """``code``/``june``: format + combined; ``paper``: format + correctness + factuality."""
    if scorer.settings.variant == "paper":
        return [format_reward, make_correctness_reward(scorer), make_factuality_reward(scorer)]
    return [format_reward, make_combined_reward(scorer)]


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
