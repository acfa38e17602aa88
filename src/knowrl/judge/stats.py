"""Run statistics of a judge: what every output and log line reports about the judging it did."""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass, field


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in [0, 100]); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


@dataclass
class JudgeStats:
    """Counters are updated from the judge's event-loop thread and read from the caller's thread.

    ``items`` counts every item asked for; ``calls``, ``failures`` and ``unparseable`` count distinct requests
    (an item repeated in a batch is sent, and can fail, once); ``deduplicated`` counts the repeats saved.
    """

    items: int = 0
    calls: int = 0
    cache_hits: int = 0
    deduplicated: int = 0
    unparseable: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    failures: Counter = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record_call(self, latency_s: float, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        with self._lock:
            self.calls += 1
            self.latencies_s.append(latency_s)
            self.prompt_tokens += prompt_tokens
            self.completion_tokens += completion_tokens

    def record_batch(self, items: int, cache_hits: int, deduplicated: int, unparseable: int) -> None:
        with self._lock:
            self.items += items
            self.cache_hits += cache_hits
            self.deduplicated += deduplicated
            self.unparseable += unparseable

    def record_failure(self, kind: str) -> None:
        with self._lock:
            self.failures[kind] += 1

    def record_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def snapshot(self) -> dict:
        with self._lock:
            p50, p95 = percentile(self.latencies_s, 50), percentile(self.latencies_s, 95)
            return {
                "items": self.items, "calls": self.calls, "cache_hits": self.cache_hits,
                "deduplicated": self.deduplicated, "unparseable": self.unparseable, "retries": self.retries,
                "failures": dict(self.failures), "failed": sum(self.failures.values()),
                "latency_p50_s": None if p50 is None else round(p50, 4),
                "latency_p95_s": None if p95 is None else round(p95, 4),
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
            }
