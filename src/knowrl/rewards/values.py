"""Reward values of METHOD 3.2-3.4 as pure functions, per named variant (``code`` default, ``paper``, ``june``).

The variants differ in four places, all here:

==========  ====================  ==============================  =========================================
variant     NOT_ATTEMPTED         fact score r_fact               total (TRL sums the reward functions)
==========  ====================  ==============================  =========================================
code        +abstain (1)          supported/n * length penalty    format + combined(correct, fact)
paper       +abstain (1)          supported/n                     format + correct + fact
june        -1 (no fact bonus)    min(supported/cap, 1)  (15)     format + combined(correct, fact)
==========  ====================  ==============================  =========================================

``combined`` = -1 + r_fact when the answer is judged wrong (or missing) and is not a refusal, else r_correct.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

VARIANTS = ("code", "paper", "june")
CORRECT_VALUE = 2.0
WRONG_VALUE = -1.0


@dataclass(frozen=True)
class RewardValues:
    """The numeric settings of one variant (from the ``reward`` config section)."""

    variant: str = "code"
    abstain_value: float = 1.0          # NOT_ATTEMPTED in code/paper; the paper's ablation sets -1
    length_penalty_gamma: int = 10      # FActScore gamma (code variant)
    june_fact_cap: int = 15             # supported facts for a full fact score (june variant)

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown reward variant {self.variant!r}; choose one of {', '.join(VARIANTS)}")
        if self.length_penalty_gamma < 1 or self.june_fact_cap < 1:
            raise ValueError("length_penalty_gamma and june_fact_cap must be >= 1")


def length_penalty(n: int, gamma: int = 10) -> float:
    """FActScore length penalty: 1 if n > gamma else exp(1 - gamma/n); 0 facts -> 0.

    >>> length_penalty(10), round(length_penalty(5), 4), length_penalty(11)
    (1.0, 0.3679, 1.0)
    """
    if n <= 0:
        return 0.0
    return 1.0 if n > gamma else math.exp(1.0 - gamma / n)


def fact_score(supported: int, n: int, values: RewardValues) -> float:
    """r_fact for ``supported`` of ``n`` verified facts (n = 0 or NON_FACTUAL -> 0).

    >>> fact_score(5, 10, RewardValues("code")), fact_score(3, 4, RewardValues("paper"))
    (0.5, 0.75)
    >>> fact_score(30, 40, RewardValues("june"))
    1.0
    """
    if n <= 0:
        return 0.0
    if not 0 <= supported <= n:
        raise ValueError(f"supported={supported} outside 0..n={n}")
    if values.variant == "june":
        return min(supported / values.june_fact_cap, 1.0)
    ratio = supported / n
    if values.variant == "paper":
        return ratio
    return ratio * length_penalty(n, values.length_penalty_gamma)


def correctness_value(grade: str | None, values: RewardValues) -> float | None:
    """r_correct for a grade name (``CORRECT``/``INCORRECT``/``NOT_ATTEMPTED``); missing answer -> pass ``None``.

    ``None`` grade means no answer was given: -1. Use ``None`` *return* for "cannot be scored" at the call site.

    >>> correctness_value("CORRECT", RewardValues()), correctness_value("NOT_ATTEMPTED", RewardValues("june"))
    (2.0, -1.0)
    """
    if grade == "CORRECT":
        return CORRECT_VALUE
    if grade == "NOT_ATTEMPTED":
        return WRONG_VALUE if values.variant == "june" else float(values.abstain_value)
    if grade in ("INCORRECT", None):
        return WRONG_VALUE
    raise ValueError(f"unknown grade {grade!r}")


def needs_fact_score(r_correct: float | None, refusal: bool, values: RewardValues,
                     score_all: bool = False) -> bool:
    """Whether r_fact can change this completion's reward (lazy evaluation), or ``score_all`` asks for it."""
    if score_all or values.variant == "paper":
        return True
    return r_correct is not None and r_correct == WRONG_VALUE and not refusal


def combined_value(r_correct: float | None, refusal: bool, r_fact: float | None,
                   values: RewardValues) -> float | None:
    """code/june ``combined``: -1 + r_fact for a wrong or missing answer that is not a refusal, else r_correct.

    Returns None when a needed part could not be scored.

    >>> combined_value(-1.0, False, 0.4, RewardValues()), combined_value(2.0, False, None, RewardValues())
    (-0.6, 2.0)
    """
    if r_correct is None:
        return None
    if r_correct == WRONG_VALUE and not refusal:
        return None if r_fact is None else WRONG_VALUE + r_fact
    return r_correct


def total_value(r_format: float, r_correct: float | None, refusal: bool, r_fact: float | None,
                values: RewardValues) -> float | None:
    """The sum TRL computes from this variant's reward functions (for logs and tests)."""
    if values.variant == "paper":
        return None if r_correct is None or r_fact is None else r_format + r_correct + r_fact
    combined = combined_value(r_correct, refusal, r_fact, values)
    return None if combined is None else r_format + combined
