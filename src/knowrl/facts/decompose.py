"""Atomic facts of a reasoning text (METHOD 3.3): the judge's ``decompose`` task or the model-free rule splitter,
then the same clean-up (drop facts under ``min_words`` words, de-duplicate case-insensitively).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

_SPACE = re.compile(r"\s+")


@dataclass
class FactList:
    """Facts of one text; ``facts`` None means the decomposition failed and ``reason`` says why."""

    facts: list[str] | None
    non_factual: bool = False
    reason: str | None = None
    cached: bool = False


def fact_key(fact: str) -> str:
    """Normalised form used for de-duplication: lower-case, single spaces, no trailing punctuation.

    >>> fact_key("  Paris is  the capital of France. ") == fact_key("paris is the capital of france")
    True
    """
    return _SPACE.sub(" ", fact).strip().rstrip(".!;:,").strip().lower()


def clean_facts(facts: Sequence[str], min_words: int = 3) -> list[str]:
    """Strip bullets, drop facts under ``min_words`` words, de-duplicate case-insensitively (first wins).

    >>> clean_facts(["- Paris is in France.", "paris is in france", "Too short"], 3)
    ['Paris is in France.']
    """
    seen: set[str] = set()
    kept = []
    for raw in facts:
        fact = re.sub(r"^\s*(?:[-*\u2022]|\d+[.)])\s+", "", raw or "").strip()
        key = fact_key(fact)
        if len(key.split()) < min_words or key in seen:
            continue
        seen.add(key)
        kept.append(fact)
    return kept


class RuleDecomposer:
    """Sentence/clause splitter of the judge's ``rule`` backend, without a judge object (no model, no cost)."""

    name = "rule"

    def __init__(self, min_words: int = 3):
        self.min_words = min_words

    def decompose(self, texts: Sequence[str]) -> list[FactList]:
        from knowrl.judge.rule_facts import split_facts

        out = []
        for text in texts:
            facts, non_factual = split_facts(text)
            facts = clean_facts(facts, self.min_words)
            out.append(FactList(facts, non_factual=non_factual or not facts))
        return out

    def identity(self) -> dict[str, Any]:
        return {"decomposer": "rule", "module": "knowrl.judge.rule_facts", "min_words": self.min_words}


class JudgeDecomposer:
    """``judge.decompose`` in one batch call; a failing call fails only the texts of that call."""

    name = "judge"

    def __init__(self, judge: Any, min_words: int = 3):
        self.judge = judge
        self.min_words = min_words

    def decompose(self, texts: Sequence[str]) -> list[FactList]:
        if not texts:
            return []
        try:
            results = self.judge.decompose(list(texts))
        except Exception as exc:  # a dead judge must not take the batch down
            log.warning("judge.decompose failed for %d texts: %s", len(texts), exc)
            return [FactList(None, reason=f"judge_error: {type(exc).__name__}: {exc}") for _ in texts]
        return [self._convert(r) for r in results]

    def _convert(self, result: Any) -> FactList:
        if result.facts is None:
            return FactList(None, reason=result.reason or "decomposition_failed", cached=result.cached)
        facts = [] if result.non_factual else clean_facts(result.facts, self.min_words)
        return FactList(facts, non_factual=result.non_factual, reason=result.reason, cached=result.cached)

    def identity(self) -> dict[str, Any]:
        return {"decomposer": "judge", "judge": self.judge.identity(), "min_words": self.min_words}
