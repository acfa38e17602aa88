"""Correctness (METHOD 3.2): rule stages first (missing answer, plain refusal, June rules), then one batched judge
call for the rest. A judge failure or an unparseable grade is a ``None`` reward with its reason, for that answer only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from knowrl.rewards.rules import is_plain_refusal, june_keyword_miss, june_refusal
from knowrl.rewards.values import RewardValues, correctness_value

log = logging.getLogger(__name__)


@dataclass
class GradeOutcome:
    """``grade`` is a grade name, ``"MISSING"`` (no answer) or None (could not be graded: see ``reason``)."""

    grade: str | None
    source: str                      # rule | judge | none
    refusal: bool = False
    reward: float | None = None
    reason: str | None = None
    cached: bool = False


def grade_name(grade: Any) -> str | None:
    """``Grade.CORRECT`` / ``"CORRECT"`` -> ``"CORRECT"``."""
    if grade is None:
        return None
    return str(grade.value if isinstance(grade, Enum) else grade).upper()


def rule_grade(answer: str | None, gold: str | None, values: RewardValues,
               skip_plain_refusal: bool = True) -> GradeOutcome | None:
    """The grade decided without a judge, or None when the judge must decide.

    >>> rule_grade(None, "Paris", RewardValues()).reward          # no answer
    -1.0
    >>> rule_grade("I don't know.", "Paris", RewardValues()).reward   # plain refusal, abstain value
    1.0
    >>> rule_grade("Lyon", "Paris", RewardValues("june")).grade   # june keyword pre-filter
    'INCORRECT'
    """
    if answer is None:
        return GradeOutcome("MISSING", "rule", reward=correctness_value(None, values), reason="no_answer")
    if values.variant == "june":
        if june_refusal(answer):
            return GradeOutcome("NOT_ATTEMPTED", "rule", True, correctness_value("NOT_ATTEMPTED", values),
                                "june_refusal")
        if gold and june_keyword_miss(answer, gold):
            return GradeOutcome("INCORRECT", "rule", False, correctness_value("INCORRECT", values),
                                "june_keyword_miss")
    if skip_plain_refusal and is_plain_refusal(answer):
        return GradeOutcome("NOT_ATTEMPTED", "rule", True, correctness_value("NOT_ATTEMPTED", values),
                            "plain_refusal")
    if not gold:
        return GradeOutcome(None, "none", reason="no_gold_answer")
    return None


def judge_outcome(result: Any, values: RewardValues) -> GradeOutcome:
    """Map one ``GradeResult`` to rewards; grade None -> an unscored answer with the judge's reason."""
    name = grade_name(getattr(result, "grade", None))
    if name is None:
        return GradeOutcome(None, "judge", reason=getattr(result, "reason", None) or "judge_error")
    return GradeOutcome(name, "judge", name == "NOT_ATTEMPTED", correctness_value(name, values),
                        cached=bool(getattr(result, "cached", False)))


def grade_answers(judge: Any, questions: Sequence[str], golds: Sequence[str | None],
                  answers: Sequence[str | None], values: RewardValues, ids: Sequence[str] | None = None,
                  skip_plain_refusal: bool = True) -> list[GradeOutcome]:
    """Grades for all answers: rules first, then each distinct remaining answer once, in one ``judge.grade``
    batch (raw questions, never prompts)."""
    outcomes: list[GradeOutcome | None] = [rule_grade(a, g, values, skip_plain_refusal)
                                           for a, g in zip(answers, golds)]
    todo: dict[tuple, list[int]] = {}  # identical (question, gold, answer) in a group: one judge item
    for i, o in enumerate(outcomes):
        if o is None:
            todo.setdefault((questions[i], golds[i], answers[i]), []).append(i)
    if todo:
        rows = [(*key, ids[idx[0]] if ids else None) for key, idx in todo.items()]
        for idx, result in zip(todo.values(), _call_judge(judge, rows)):
            for i in idx:
                outcomes[i] = judge_outcome(result, values)
    return outcomes  # type: ignore[return-value]


def _call_judge(judge: Any, rows: list[tuple]) -> list[Any]:
    from knowrl.judge import GradeItem, GradeResult

    if judge is None:
        return [GradeResult(None, reason="no_judge")] * len(rows)
    try:
        results = judge.grade([GradeItem(q, g, a, id=i) for q, g, a, i in rows])
    except Exception as exc:  # a dead or timed-out judge: these answers are unscored, nothing else
        log.warning("judge.grade failed for %d answers: %s", len(rows), exc)
        return [GradeResult(None, reason=f"judge_error: {type(exc).__name__}: {exc}")] * len(rows)
    if len(results) != len(rows):
        return [GradeResult(None, reason="judge_returned_wrong_count")] * len(rows)
    return list(results)
