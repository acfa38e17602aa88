"""Verifier backends (METHOD 3.3): is a fact supported by any of its passages?

One interface, ``verify([(fact, passages), ...]) -> [Verdict]``, and one registry, looked up by
``facts.verifier.backend``: ``nli`` (local sequence-classification model, P(entailment) >= 0.3), ``llm`` (the
judge's verify task, the paper's choice) and ``embedding`` (cosine of fact and passage with the KB's own
embedding model, the CPU default). A fact without passages is unsupported ("no_evidence").

Only ``nli`` and ``llm`` judge support. ``embedding`` measures topical similarity: "Paris is the capital of
Italy" is close to a passage on Paris. It is a proxy, not entailment, and every record that reports its fact score
says so through ``Verifier.measure``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from knowrl.errors import ConfigError
from knowrl.facts.cache import MB, BoundedLRU
from knowrl.facts.evidence import Evidence
from knowrl.facts.settings import VerifierSettings
from knowrl.registry import Registry

log = logging.getLogger(__name__)

VERIFIERS: Registry = Registry("verifier", {
    "nli": "knowrl.facts.nli:NLIVerifier",
    "llm": "knowrl.facts.verify:LLMVerifier",
    "embedding": "knowrl.facts.verify:EmbeddingVerifier",
})


@dataclass
class Verdict:
    """``supported`` None = could not be verified (``reason`` says why); ``score`` is the best passage's score."""

    supported: bool | None
    score: float | None = None
    passage_id: int | None = None
    reason: str | None = None
    cached: bool = False


def best_verdict(scores: Sequence[float], passages: Sequence[Evidence], threshold: float) -> Verdict:
    """Supported when any passage scores >= threshold; keeps the best passage as the evidence."""
    if not passages:
        return Verdict(False, None, None, reason="no_evidence")
    best = int(np.argmax(scores))
    return Verdict(bool(scores[best] >= threshold), float(scores[best]), passages[best].passage_id)


class Verifier:
    """Base class: ``calls`` counts scored units (fact-passage pairs or judge items); ``measure`` says what a
    verdict means, for the reward card, provenance and tables."""

    name = "base"
    measure = "unspecified"
    threshold: float | None = None

    def __init__(self) -> None:
        self.calls = 0

    def verify(self, items: Sequence[tuple[str, Sequence[Evidence]]]) -> list[Verdict]:
        raise NotImplementedError

    def identity(self) -> dict[str, Any]:
        return {"backend": self.name, "measure": self.measure, "threshold": self.threshold}


class EmbeddingVerifier(Verifier):
    """Cosine similarity of fact and passage embeddings from the KB's own model (vectors are L2-normalised): a
    similarity proxy, not entailment. Passage vectors come from the KB's stored matrix (``kb.vectors``) when it has
    one, else are encoded; recent ones are kept in a memo of at most ``max_cached_passages`` vectors and
    ``max_cached_mb`` MB."""

    name = "embedding"
    measure = "embedding-similarity (proxy, not entailment)"

    def __init__(self, kb: Any, threshold: float = 0.6, max_cached_passages: int = 200_000,
                 max_cached_mb: float = 64.0):
        super().__init__()
        self.kb = kb
        self.threshold = threshold
        self._passages = BoundedLRU(max_cached_passages, int(max_cached_mb * MB))

    @classmethod
    def from_settings(cls, settings: VerifierSettings, *, kb: Any = None, judge: Any = None) -> "EmbeddingVerifier":
        if kb is None:
            raise ConfigError("facts.verifier.backend=embedding needs a knowledge base")
        return cls(kb, threshold=settings.resolved_threshold())

    def verify(self, items: Sequence[tuple[str, Sequence[Evidence]]]) -> list[Verdict]:
        if not items:
            return []
        facts = self.kb.encode([fact for fact, _ in items])
        vectors = self._passage_vectors([p for _, passages in items for p in passages])
        out = []
        for vec, (_, passages) in zip(facts, items):
            scores = [float(np.dot(vec, vectors[p.passage_id])) for p in passages]
            self.calls += len(passages)
            out.append(best_verdict(scores, passages, self.threshold))
        return out

    def _passage_vectors(self, passages: Sequence[Evidence]) -> dict[int, np.ndarray]:
        """Embeddings by passage id; a bounded memo keeps recent ones (``max_cached_passages=0``: none)."""
        vectors = {p.passage_id: self._passages.get(p.passage_id) for p in passages
                   if p.passage_id in self._passages}
        todo = list({p.passage_id: p for p in passages if p.passage_id not in vectors}.values())
        stored = getattr(self.kb, "vectors", None)  # the KB's own passage embeddings, when it exposes them
        if todo and stored is not None:
            for p in todo:
                vec = np.asarray(stored[p.passage_id], dtype=np.float32)
                vectors[p.passage_id] = vec / max(float(np.linalg.norm(vec)), 1e-12)
        elif todo:
            for p, vec in zip(todo, self.kb.encode([p.text for p in todo])):
                vectors[p.passage_id] = np.asarray(vec, dtype=np.float32)
        for pid, vec in vectors.items():
            self._passages.put(pid, vec, vec.nbytes)
        return vectors

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "model": self.kb.embedder_identity()}


class LLMVerifier(Verifier):
    """The judge's verify task: True/False given the fact and its passages."""

    name = "llm"
    measure = "LLM judgement of support (the judge's verify task)"

    def __init__(self, judge: Any):
        super().__init__()
        self.judge = judge

    @classmethod
    def from_settings(cls, settings: VerifierSettings, *, kb: Any = None, judge: Any = None) -> "LLMVerifier":
        if judge is None:
            raise ConfigError("facts.verifier.backend=llm needs a judge")
        return cls(judge)

    def verify(self, items: Sequence[tuple[str, Sequence[Evidence]]]) -> list[Verdict]:
        from knowrl.judge import VerifyItem

        out: list[Verdict | None] = [None] * len(items)
        asked = [i for i, (_, passages) in enumerate(items) if passages]
        for i, (_, passages) in enumerate(items):
            if not passages:
                out[i] = Verdict(False, None, None, reason="no_evidence")
        if asked:
            self.calls += len(asked)
            try:
                results = self.judge.verify([VerifyItem(items[i][0], [p.text for p in items[i][1]])
                                             for i in asked])
            except Exception as exc:  # a dead judge fails these facts only
                log.warning("judge.verify failed for %d facts: %s", len(asked), exc)
                results = [None] * len(asked)
            for i, result in zip(asked, results):
                out[i] = self._convert(result, items[i][1])
        return out  # type: ignore[return-value]

    @staticmethod
    def _convert(result: Any, passages: Sequence[Evidence]) -> Verdict:
        if result is None or result.supported is None:
            return Verdict(None, reason=(result.reason if result else None) or "judge_error")
        return Verdict(bool(result.supported), 1.0 if result.supported else 0.0, passages[0].passage_id,
                       cached=result.cached)

    def identity(self) -> dict[str, Any]:
        return {"backend": self.name, "measure": self.measure, "judge": self.judge.identity()}


def build_verifier(settings: VerifierSettings, *, kb: Any = None, judge: Any = None) -> Verifier:
    """The configured verifier backend, looked up by name in ``VERIFIERS``."""
    return VERIFIERS.get(settings.backend).from_settings(settings, kb=kb, judge=judge)
