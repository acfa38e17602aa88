"""The ``rule`` backend: deterministic grading, splitting and lexical verification with no model (offline CPU)."""

from __future__ import annotations

from knowrl.judge.base import Judge, Outcome
from knowrl.judge.rule_facts import lexical_support, split_facts
from knowrl.judge.rule_grader import rule_grade

RULE_VERSION = "rule-v2"  # bump when a rule changes: it is part of every cache key


class RuleJudge(Judge):
    name = "rule"
    uses_cache = False  # recomputing is cheaper than a SQLite round trip

    def model_identity(self) -> dict:
        return {"name": "rule", "version": RULE_VERSION}

    def decoding(self, task: str | None = None) -> dict:
        return {}

    def _compute(self, task: str, inputs: list[dict]) -> list[Outcome]:
        if task == "grade":
            outcomes = []
            for inp in inputs:
                grade, reason = rule_grade(inp["gold"], inp["prediction"], inp["question"])
                outcomes.append(Outcome({"grade": grade.value}, reason))
            return outcomes
        if task == "atomic_facts":
            return [Outcome(dict(zip(("facts", "non_factual"), split_facts(inp["text"])))) for inp in inputs]
        return [Outcome({"supported": lexical_support(inp["fact"], inp["passages"])}) for inp in inputs]
