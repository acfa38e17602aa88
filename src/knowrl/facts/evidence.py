"""Evidence for facts (METHOD 3.3): k passages per fact from the KB, restricted to the pages of the question's
``;``-joined titles; a missing page is skipped and counted, no page found -> whole-KB search.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from knowrl.facts.cache import MB, BoundedLRU

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Evidence:
    """One retrieved passage (a plain copy of ``knowrl.kb.Hit`` that round-trips through the cache)."""

    passage_id: int
    title: str
    text: str
    score: float

    @classmethod
    def from_hit(cls, hit: Any) -> "Evidence":
        return cls(int(hit.passage_id), str(hit.title), str(hit.text), float(hit.score))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TitleLookup:
    """The question's page titles split into those the KB holds (the search pool) and those it lacks."""

    found: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def titles(self) -> tuple[str, ...]:
        """Every title of the question, found or not (they all go into the query)."""
        return self.found + self.missing


def split_title_field(field: str | None) -> list[str]:
    """``"A;B; ;A"`` -> ``["A", "B"]``: the KB's ``split_titles`` (strip, drop blanks, de-duplicate, keep order).

    >>> split_title_field("Paris; France;;Paris")
    ['Paris', 'France']
    """
    try:
        from knowrl.kb import split_titles
    except ImportError:  # the kb package not importable: same rule, local
        split_titles = None
    if split_titles is not None:
        return list(split_titles(field))
    return list(dict.fromkeys(t.strip() for t in (field or "").split(";") if t.strip()))


class EvidenceRetriever:
    """Batch retrieval over one KB; title lookups are remembered per title set (bounded)."""

    def __init__(self, kb: Any, k: int = 5, mode: str = "hybrid", query_with_title: bool = True,
                 max_title_sets: int = 20_000, max_title_mb: float = 16.0):
        self.kb = kb
        self.k = k
        self.mode = mode
        self.query_with_title = query_with_title
        self._lookups = BoundedLRU(max_title_sets, int(max_title_mb * MB))  # weighed in title characters
        self.counts: Counter[str] = Counter()

    def lookup(self, titles: Sequence[str]) -> TitleLookup:
        """Which of ``titles`` exist in the KB (exact, then case-insensitive, as the KB matches them)."""
        key = tuple(titles)
        if key in self._lookups:
            return self._lookups.get(key)
        if not key:
            result = TitleLookup((), ())
        else:
            _, missing = self.kb.passages_for_titles(list(key))
            missing_set = set(missing)
            result = TitleLookup(tuple(t for t in key if t not in missing_set), tuple(missing))
            self.counts["titles_found"] += len(result.found)
            self.counts["titles_missing"] += len(result.missing)
        self._lookups.put(key, result, sum(len(t) for t in key))
        return result

    def query(self, fact: str, lookup: TitleLookup) -> str:
        """``"<titles> <fact>"`` (upstream's query, with every title of the question, not only the first), or the
        fact alone when ``query_with_title`` is off or the question names no page.

        >>> EvidenceRetriever(None).query("It is big.", TitleLookup(("Paris",), ("France",)))
        'Paris; France It is big.'
        """
        return f"{'; '.join(lookup.titles)} {fact}" if self.query_with_title and lookup.titles else fact

    def retrieve(self, units: Sequence[tuple[TitleLookup, str]]) -> list[list[Evidence] | None]:
        """Passages per ``(title lookup, fact)``; None for a unit whose search failed (reason logged, counted)."""
        if not units:
            return []
        queries = [self.query(fact, lookup) for lookup, fact in units]
        pools = [list(lookup.found) or None for lookup, _ in units]
        self.counts["searches"] += len(units)
        self.counts["whole_kb"] += sum(1 for p in pools if p is None)
        try:
            hits = self.kb.search(queries, k=self.k, titles=pools, mode=self.mode)
            return [[Evidence.from_hit(h) for h in row] for row in hits]
        except Exception as exc:  # isolate the failing query instead of failing the batch
            log.warning("kb.search failed for a batch of %d (%s); retrying one by one", len(units), exc)
        out: list[list[Evidence] | None] = []
        for query, pool in zip(queries, pools):
            try:
                row = self.kb.search([query], k=self.k, titles=[pool], mode=self.mode)[0]
                out.append([Evidence.from_hit(h) for h in row])
            except Exception as exc:
                self.counts["search_errors"] += 1
                log.warning("kb.search failed for %r: %s", query[:80], exc)
                out.append(None)
        return out
