"""Agreement between two judges: raw agreement, Cohen's kappa and the confusion table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa of two label lists; None when undefined (no items, or chance agreement is 1)."""
    if len(a) != len(b):
        raise ValueError("label lists differ in length")
    n = len(a)
    if n == 0:
        return None
    observed = sum(x == y for x, y in zip(a, b)) / n
    count_a, count_b = Counter(a), Counter(b)
    expected = sum(count_a[label] * count_b[label] for label in set(a) | set(b)) / (n * n)
    if expected == 1.0:
        return None
    return (observed - expected) / (1 - expected)


def agreement_report(a: Sequence[str | None], b: Sequence[str | None]) -> dict:
    """Compare two judges' grades item by item; items either judge could not grade are counted, not compared."""
    pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    left, right = [p[0] for p in pairs], [p[1] for p in pairs]
    confusion = Counter(f"{x}|{y}" for x, y in pairs)
    return {
        "items": len(a), "compared": len(pairs),
        "ungraded_a": sum(x is None for x in a), "ungraded_b": sum(y is None for y in b),
        "agreement": round(sum(x == y for x, y in pairs) / len(pairs), 4) if pairs else None,
        "kappa": None if (k := cohen_kappa(left, right)) is None else round(k, 4),
        "confusion": dict(sorted(confusion.items())),
    }
