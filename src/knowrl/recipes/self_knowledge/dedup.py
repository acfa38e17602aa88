"""ROUGE-L de-duplication of generated tasks (SeRL / self-instruct: drop a task whose ROUGE-L F1 against any task
already in the pool exceeds the threshold, 0.7 in the original).

Pure Python: the tokenisation of ``rouge-score``'s default tokenizer (lower-case, runs of ``[a-z0-9]``, no stemming)
and the longest common subsequence by dynamic programming; each pool text is tokenised once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> tuple[str, ...]:
    """``rouge-score``'s tokens: lower-cased, non-alphanumerics as separators."""
    return tuple(TOKEN.findall(text.lower()))


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token sequences (O(len(a) x len(b)), one row in memory)."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l_f1(a: Sequence[str], b: Sequence[str]) -> float:
    """ROUGE-L F1 of two token sequences (symmetric; 0.0 when either is empty)."""
    if not a or not b:
        return 0.0
    lcs = lcs_length(a, b)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return 2 * precision * recall / (precision + recall)


class Deduplicator:
    """Keeps the tokens of every accepted text; :meth:`check` returns the best match of a candidate."""

    def __init__(self, threshold: float, texts: Iterable[str] = ()):
        self.threshold = threshold
        self._pool: list[tuple[str, tuple[str, ...]]] = []
        for text in texts:
            self.add(text)

    def add(self, text: str) -> None:
        self._pool.append((text, tokens(text)))

    def check(self, text: str) -> tuple[float, str | None]:
        """(highest ROUGE-L F1 against the pool, that pool text); (0.0, None) for an empty pool."""
        candidate, best, match = tokens(text), 0.0, None
        for other, other_tokens in self._pool:
            score = rouge_l_f1(candidate, other_tokens)
            if score > best:
                best, match = score, other
        return best, match

    def is_duplicate(self, text: str) -> bool:
        return self.check(text)[0] > self.threshold
