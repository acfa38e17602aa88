"""The reward card: what exactly produced a run's rewards (variant, values, backends with model identity and
sha256, template and rule versions, thresholds, KB manifest hash). Written next to every reward log."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from knowrl import __version__
from knowrl.files import sha256_json, write_json_atomic
from knowrl.rewards.format import FORMAT_RULE_VERSION
from knowrl.rewards.rules import RULES_VERSION

CARD_VERSION = 1


def _identity(obj: Any) -> dict[str, Any] | None:
    if obj is None:
        return None
    try:
        return obj.identity()
    except Exception as exc:  # the card must still be written; say what failed
        return {"error": f"{type(exc).__name__}: {exc}"}


def reward_card(scorer: Any) -> dict[str, Any]:
    """The card of one scorer (JSON-able)."""
    s = scorer.settings
    facts = scorer.facts
    kb = scorer.kb
    card: dict[str, Any] = {
        "card_version": CARD_VERSION,
        "knowrl": __version__,
        "variant": s.variant,
        "values": asdict(s.values),
        "settings": asdict(s),
        "reward_functions": [f.__name__ for f in scorer.reward_functions()],
        "rules": {"format": FORMAT_RULE_VERSION, "refusal_and_keywords": RULES_VERSION},
        "judge": _identity(scorer.judge),
        "kb": {"manifest_sha256": getattr(kb, "manifest_sha256", None),
               "embedder": _embedder(kb)},
    }
    if facts is not None:
        card["facts"] = {
            "decomposer": _identity(facts.decomposer),
            "verifier": _identity(facts.verifier),
            "support_measure": facts.verifier.measure,  # e.g. "embedding-similarity (proxy, not entailment)"
            "k": facts.retriever.k, "retrieval_mode": facts.retriever.mode,
            "query_with_title": facts.retriever.query_with_title, "dedupe": facts.dedupe,
            "cache": str(facts.cache.path) if facts.cache.path else None,
        }
    card["card_sha256"] = sha256_json(card)
    return card


def _embedder(kb: Any) -> dict[str, Any] | None:
    try:
        return kb.embedder_identity() if kb is not None else None
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def write_card(scorer: Any, path: str | os.PathLike) -> Path:
    """Write ``reward_card.json`` (atomic)."""
    target = Path(path)
    write_json_atomic(target, reward_card(scorer))
    return target
