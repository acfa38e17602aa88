"""Rule stages that decide an answer without a judge call (pure functions).

* ``is_plain_refusal``: the exact abstention the policy prompt asks for ("I don't know."); graded NOT_ATTEMPTED by
  every judge, so the call is skipped in every variant.
* ``june_refusal`` and ``june_keyword_miss``: the June 2025 variant's stages (METHOD 3.2): refusal phrases, then
  (for golds without digits) a keyword pre-filter; both give -1 without a judge call. They double as a judge-free
  grader for offline runs.
"""

from __future__ import annotations

import re

RULES_VERSION = "rules-v1"

_PLAIN_REFUSAL = re.compile(r"^\W*(?:i\s+(?:do\s+not|don'?t|don’t)\s+know)\W*$", re.IGNORECASE)

JUNE_REFUSAL_PATTERNS = (
    r"\b(?:i\s+)?(?:cannot|can't|can’t|can\s+not|am\s+unable\s+to|unable\s+to|am\s+not\s+able\s+to)\s+"
    r"(?:answer|determine|provide|say|tell|know|find|confirm|verify|be\s+sure)",
    r"\bas\s+an\s+ai\b.*\b(?:cannot|can't|can’t|unable|not\s+able)\b",
    r"\b(?:need|needs|require|requires)\s+(?:more|additional|further)\s+(?:information|context|details)\b",
    r"\b(?:insufficient|not\s+enough)\s+(?:information|context|data|details)\b",
    r"\bethical\s+(?:concerns?|reasons?|considerations?)\b",
    r"\bi\s+(?:do\s+not|don'?t|don’t)\s+know\b",
)
_JUNE_REFUSAL = re.compile("|".join(f"(?:{p})" for p in JUNE_REFUSAL_PATTERNS), re.IGNORECASE | re.DOTALL)

STOP_WORDS = frozenset("""
a an the and or but of in on at to for from by with about as into over under is are was were be been being it its
this that these those he she they them his her their there which who whom what when where why how not no yes do
does did has have had will would can could may might shall should than then so such also
""".split())
_WORD = re.compile(r"\w+")


def is_plain_refusal(answer: str | None) -> bool:
    """True for the abstention the prompt asks for.

    >>> is_plain_refusal("I don't know."), is_plain_refusal("I don't know who, maybe Bob")
    (True, False)
    """
    return bool(answer) and bool(_PLAIN_REFUSAL.match(answer.strip()))


def june_refusal(answer: str | None) -> bool:
    """June-variant refusal: empty, or any refusal phrase (cannot answer, as an AI I cannot, need more context...).

    >>> june_refusal("I cannot answer that without more context."), june_refusal("Paris")
    (True, False)
    """
    return not (answer or "").strip() or bool(_JUNE_REFUSAL.search(answer))


def gold_keywords(gold: str) -> set[str]:
    """Lower-cased ``\\w+`` tokens of the gold longer than one character, minus stop words."""
    return {w for w in _WORD.findall((gold or "").lower()) if len(w) > 1 and w not in STOP_WORDS}


def june_keyword_miss(answer: str, gold: str) -> bool:
    """True when the gold has no digit, has keywords, and none of them occurs in the answer (-> -1, no judge).

    >>> june_keyword_miss("Berlin", "Paris, France"), june_keyword_miss("It is Paris", "Paris")
    (True, False)
    >>> june_keyword_miss("1999", "in 1998")   # golds with digits always go to the judge
    False
    """
    if any(ch.isdigit() for ch in gold or ""):
        return False
    keywords = gold_keywords(gold)
    if not keywords:
        return False
    answer_words = set(_WORD.findall((answer or "").lower()))
    return not (keywords & answer_words)
