"""Rule stages that decide an answer without a judge call (pure functions).

* ``is_plain_refusal``: the exact abstention the policy prompt asks for ("I don't know."); graded NOT_ATTEMPTED by
  every judge, so the call is skipped in every variant.
* ``june_refusal`` and ``june_keyword_miss``: the June 2025 variant's stages (METHOD 3.2): refusal phrases, then
  (for golds without digits) a keyword pre-filter; both give -1 without a judge call. They double as a judge-free
  grader for offline runs. What a refusal is lives in one module, ``knowrl.judge.refusal``, shared with the rule
  grader and the training alarm.
"""

from __future__ import annotations

from knowrl.judge.refusal import is_june_refusal, is_plain_refusal
from knowrl.judge.rule_grader import keyword_prefilter

__all__ = ["RULES_VERSION", "is_plain_refusal", "june_keyword_miss", "june_refusal"]

RULES_VERSION = "rules-v1"


def june_refusal(answer: str | None) -> bool:
    """June-variant refusal: empty, any refusal phrase of METHOD 3.2 (cannot answer, as an AI I cannot, need more
    context...), or the prompt's own abstention, which the June judge would grade NOT_ATTEMPTED (-1) anyway.

    >>> june_refusal("I cannot answer that without more context."), june_refusal("Paris")
    (True, False)
    """
    return is_june_refusal(answer) or is_plain_refusal(answer)


def june_keyword_miss(answer: str, gold: str) -> bool:
    """True when the gold has no digit, has keywords, and none of them occurs in the answer (-> -1, no judge).

    >>> june_keyword_miss("Berlin", "Paris, France"), june_keyword_miss("It is Paris", "Paris")
    (True, False)
    >>> june_keyword_miss("1999", "in 1998")   # golds with digits always go to the judge
    False
    """
    return not keyword_prefilter(gold or "", answer or "")
