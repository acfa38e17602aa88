"""The factuality pipeline of METHOD 3.3, batched: decompose -> de-duplicate -> retrieve -> verify.

All texts of one reward call go through each stage together: identical texts are decomposed once, identical facts
under the same titles (a GRPO group repeats most of its facts) are retrieved and verified once, and every stage
reads and writes a persistent cache keyed by the backend's identity, so a later epoch re-uses earlier work.
Failures stay local: a failed decomposition fails its text, a failed search or verdict fails its fact.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from knowrl.facts.cache import FactCache, cache_key
from knowrl.facts.decompose import FactList, JudgeDecomposer, RuleDecomposer, clean_facts, fact_key
from knowrl.facts.evidence import Evidence, EvidenceRetriever, TitleLookup, split_title_field
from knowrl.facts.settings import FactsSettings
from knowrl.facts.verify import Verdict, Verifier, build_verifier
from knowrl.files import sha256_json


@dataclass
class FactRequest:
    """One text to score; ``titles`` is the raw ``;``-joined field of the question."""

    text: str
    titles: str | None = None


@dataclass
class FactRecord:
    fact: str
    supported: bool | None
    score: float | None = None
    passage_ids: list[int] = field(default_factory=list)
    reason: str | None = None


@dataclass
class FactResult:
    """Facts of one text with verdicts; ``facts`` None = decomposition failed (``reason``)."""

    facts: list[FactRecord] | None
    non_factual: bool = False
    reason: str | None = None
    titles_missing: list[str] = field(default_factory=list)
    whole_kb: bool = False
    cached: Counter = field(default_factory=Counter)

    @property
    def verified(self) -> list[FactRecord]:
        return [f for f in self.facts or [] if f.supported is not None]

    @property
    def supported(self) -> int:
        return sum(1 for f in self.verified if f.supported)

    def to_log(self) -> dict[str, Any]:
        return {"facts": [asdict(f) for f in self.facts] if self.facts is not None else None,
                "non_factual": self.non_factual, "reason": self.reason, "titles_missing": self.titles_missing,
                "whole_kb": self.whole_kb, "cache_hits": dict(self.cached)}


def sentences_of(text: str) -> list[str]:
    """Sentences of a reasoning text, paragraph by paragraph (the KB's splitter).

    >>> sentences_of("Paris is in France. It is big.\\n\\nDr. Hale lived there.")
    ['Paris is in France.', 'It is big.', 'Dr. Hale lived there.']
    """
    from knowrl.kb.passages import split_paragraphs, split_sentences

    return [s for para in split_paragraphs(text or "") for s in split_sentences(para)]


def join_fact_lists(parts: Sequence[FactList], min_words: int) -> FactList:
    """Facts of a text from its sentences' facts; any failed sentence fails the text."""
    failed = [p for p in parts if p.facts is None]
    if failed:
        return FactList(None, reason=failed[0].reason)
    facts = clean_facts([f for p in parts for f in p.facts or []], min_words)
    return FactList(facts, non_factual=not facts, cached=bool(parts) and all(p.cached for p in parts))


class FactPipeline:
    """One per run; owns the decomposer, retriever, verifier and cache it is given."""

    def __init__(self, decomposer: Any, retriever: EvidenceRetriever, verifier: Verifier,
                 cache: FactCache | None = None, dedupe: bool = True, kb_hash: str | None = None,
                 unit: str = "text"):
        self.decomposer, self.retriever, self.verifier = decomposer, retriever, verifier
        self.cache = cache or FactCache(None, memory_items=0)
        self.dedupe = dedupe
        self.unit = unit
        self.kb_hash = kb_hash
        self.counts: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        self._ids: dict[str, str] = {}

    @classmethod
    def from_config(cls, config: dict, *, kb: Any, judge: Any = None) -> "FactPipeline":
        s = FactsSettings.from_config(config)
        decomposer = (RuleDecomposer(s.min_words) if s.decomposer == "rule"
                      else JudgeDecomposer(judge, s.min_words))
        retriever = EvidenceRetriever(kb, k=s.k, mode=s.retrieval_mode, query_with_title=s.query_with_title)
        verifier = build_verifier(s.verifier, kb=kb, judge=judge)
        return cls(decomposer, retriever, verifier, FactCache.from_settings(s.cache),
                   dedupe=s.dedupe, kb_hash=getattr(kb, "manifest_sha256", None), unit=s.decompose_unit)

    def identity_digest(self, role: str) -> str:
        if role not in self._ids:
            part = self.decomposer if role == "decompose" else self.verifier
            self._ids[role] = sha256_json(part.identity())
        return self._ids[role]

    def score(self, requests: Sequence[FactRequest]) -> list[FactResult]:
        """Facts with verdicts for every request, in order."""
        lists = self._decompose([r.text for r in requests])
        lookups = [self.retriever.lookup(split_title_field(r.titles)) for r in requests]
        units = self._units(lists, lookups)
        evidence = self._retrieve(units)
        verdicts = self._verify(units, evidence)
        return [self._assemble(i, facts, lookups[i], units, evidence, verdicts) for i, facts in enumerate(lists)]

    def _decompose(self, texts: Sequence[str]) -> list[FactList]:
        """Whole texts (``unit="text"``), or each sentence once across the batch, joined back per text."""
        if self.unit == "text":
            return self._decompose_units(texts)
        pieces = [sentences_of(t) for t in texts]
        flat = self._decompose_units([s for p in pieces for s in p])
        out, at = [], 0
        for p in pieces:
            out.append(join_fact_lists(flat[at:at + len(p)], self.decomposer.min_words))
            at += len(p)
        return out

    def _decompose_units(self, texts: Sequence[str]) -> list[FactList]:
        start = time.perf_counter()
        unique = list(dict.fromkeys(texts))
        cacheable = isinstance(self.decomposer, JudgeDecomposer)
        keys = {t: cache_key("decompose", self.identity_digest("decompose"), t) for t in unique}
        found = self.cache.get_many("decompose", list(keys.values())) if cacheable else {}
        todo = [t for t in unique if keys[t] not in found]
        results = dict(zip(todo, self.decomposer.decompose(todo)))
        if cacheable:  # the rule splitter is cheaper than a cache lookup
            self.cache.put_many("decompose", [(keys[t], asdict(r)) for t, r in results.items()
                                              if r.facts is not None])
        for t in unique:
            if t not in results:
                results[t] = FactList(**{**found[keys[t]], "cached": True})
        self.counts["texts"] += len(texts)
        self.counts["decompose_calls"] += len(todo)
        fresh = set(todo)
        self.counts["decompose_cache_hits"] += sum(1 for t in texts if t not in fresh or results[t].cached)
        self.seconds["decompose"] += time.perf_counter() - start
        return [results[t] for t in texts]

    def _units(self, lists: Sequence[FactList], lookups: Sequence[TitleLookup]) -> dict[tuple, str]:
        """Distinct ``(titles, fact key)`` -> fact text (or one unit per occurrence without de-duplication)."""
        units: dict[tuple, str] = {}
        for i, (facts, lookup) in enumerate(zip(lists, lookups)):
            for j, fact in enumerate(facts.facts or []):
                units.setdefault(self._unit(i, j, fact, lookup), fact)
        self.counts["facts"] += sum(len(f.facts or []) for f in lists)
        self.counts["unique_facts"] += len(units)
        return units

    def _unit(self, i: int, j: int, fact: str, lookup: TitleLookup) -> tuple:
        """``(title lookup, fact key)``: everything that decides the search (pool and query) and the verdict."""
        base = (lookup, fact_key(fact))
        return base if self.dedupe else (i, j, *base)

    def _retrieve(self, units: dict[tuple, str]) -> dict[tuple, list[Evidence] | None]:
        start = time.perf_counter()
        r = self.retriever
        keys = {u: cache_key("retrieve", self.kb_hash, r.mode, r.k, r.query_with_title, u[-2].found,
                             u[-2].missing, u[-1]) for u in units}
        found = self.cache.get_many("retrieve", list(keys.values()))
        todo = [u for u in units if keys[u] not in found]
        fetched = r.retrieve([(u[-2], units[u]) for u in todo])
        self.cache.put_many("retrieve", [(keys[u], [e.to_json() for e in ev])
                                         for u, ev in zip(todo, fetched) if ev is not None])
        out: dict[tuple, list[Evidence] | None] = dict(zip(todo, fetched))
        for u in units:
            if u not in out:
                out[u] = [Evidence(**e) for e in found[keys[u]]]
        self.counts["retrievals"] += len(todo)
        self.counts["retrieve_cache_hits"] += len(units) - len(todo)
        self.seconds["retrieve"] += time.perf_counter() - start
        return out

    def _verify(self, units: dict[tuple, str], evidence: dict[tuple, list[Evidence] | None]) -> dict[tuple, Verdict]:
        start = time.perf_counter()
        out = {u: Verdict(None, reason="retrieval_failed") for u in units if evidence[u] is None}
        ready = [u for u in units if evidence[u] is not None]
        # passage ids only mean something within one KB build: its manifest hash is part of the key
        keys = {u: cache_key("verify", self.identity_digest("verify"), self.kb_hash, u[-1],
                             [e.passage_id for e in evidence[u]]) for u in ready}  # type: ignore[union-attr]
        found = self.cache.get_many("verify", list(keys.values()))
        todo = [u for u in ready if keys[u] not in found]
        verdicts = self.verifier.verify([(units[u], evidence[u]) for u in todo])  # type: ignore[misc]
        self.cache.put_many("verify", [(keys[u], asdict(v)) for u, v in zip(todo, verdicts)
                                       if v.supported is not None])
        out.update(zip(todo, verdicts))
        for u in ready:
            if u not in out:
                out[u] = Verdict(**{**found[keys[u]], "cached": True})
        self.counts["verifications"] += len(todo)
        self.counts["verify_cache_hits"] += len(ready) - len(todo)
        self.counts["no_evidence"] += sum(1 for u in ready if not evidence[u])
        self.seconds["verify"] += time.perf_counter() - start
        return out

    def _assemble(self, i: int, facts: FactList, lookup: TitleLookup, units: dict[tuple, str],
                  evidence: dict, verdicts: dict) -> FactResult:
        result = FactResult(None, non_factual=facts.non_factual, reason=facts.reason,
                            titles_missing=list(lookup.missing), whole_kb=not lookup.found)
        result.cached["decompose"] += int(facts.cached)
        if facts.facts is None:
            return result
        result.facts = []
        for j, fact in enumerate(facts.facts):
            unit = self._unit(i, j, fact, lookup)
            verdict, ev = verdicts[unit], evidence[unit] or []
            result.cached["verify"] += int(verdict.cached)
            result.facts.append(FactRecord(fact, verdict.supported, verdict.score,
                                           [e.passage_id for e in ev], verdict.reason))
        return result

    def stats(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
                "verifier_calls": self.verifier.calls, "retriever": dict(self.retriever.counts),
                "cache": self.cache.stats()}

    def close(self) -> None:
        self.cache.close()

    def __enter__(self) -> "FactPipeline":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
