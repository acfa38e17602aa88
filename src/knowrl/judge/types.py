"""Public value types of the judge stage (ARCHITECTURE.md, judge contract)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Grade(str, Enum):
    """SimpleQA-style grades; letters A/B/C are the constrained single-token form the judge answers with."""

    CORRECT = "CORRECT"
    INCORRECT = "INCORRECT"
    NOT_ATTEMPTED = "NOT_ATTEMPTED"

    @property
    def letter(self) -> str:
        return GRADE_LETTERS[self]

    @classmethod
    def from_letter(cls, letter: str) -> "Grade":
        return LETTER_GRADES[letter]


GRADE_LETTERS = {Grade.CORRECT: "A", Grade.INCORRECT: "B", Grade.NOT_ATTEMPTED: "C"}
LETTER_GRADES = {v: k for k, v in GRADE_LETTERS.items()}


@dataclass
class GradeItem:
    """One answer to grade. ``question`` must be the raw question, never the chat-templated prompt."""

    question: str
    gold: str
    prediction: str
    id: str | None = None


@dataclass
class GradeResult:
    """``grade`` None means "could not be graded"; ``reason`` then says why (failure kind or unparseable)."""

    grade: Grade | None
    reason: str | None = None
    cached: bool = False


@dataclass
class Decomposition:
    """Atomic facts of a text; ``facts`` None means the decomposition failed (``reason`` says why)."""

    facts: list[str] | None
    non_factual: bool = False
    reason: str | None = None
    cached: bool = False


@dataclass
class VerifyItem:
    fact: str
    passages: list[str] = field(default_factory=list)


@dataclass
class VerifyResult:
    """``supported`` None means the verification failed (``reason`` says why)."""

    supported: bool | None
    reason: str | None = None
    cached: bool = False
