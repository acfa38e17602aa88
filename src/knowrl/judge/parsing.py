"""Strict parsers for judge replies: a reply is either exactly one valid answer or it is unparseable.

Upstream matched ``\\b(CORRECT|A)\\b`` anywhere in the upper-cased reply, so "The answer is a dog" graded CORRECT
(METHOD 3.2, 9). Here a grade reply must be, after trimming whitespace and one complete leading
``<think>...</think>`` block (reasoning judges emit one), exactly one of: an upper-case letter ``A``/``B``/``C``,
an upper-case grade name (``CORRECT``, ``INCORRECT``, ``NOT_ATTEMPTED`` or ``NOT ATTEMPTED``), or a JSON object
whose only key is ``grade`` holding one of those. Anything else returns ``None`` with a reason, never a guess.
"""

from __future__ import annotations

import json
import re
from typing import Any

from knowrl.judge.types import LETTER_GRADES, Grade

MAX_REPLY_CHARS = 4000  # a grade is a few characters; a reply this long is rambling, not a grade
MAX_FACT_REPLY_CHARS = 20000
MIN_FACT_WORDS = 3
_THINK = re.compile(r"\A\s*<think>.*?</think>\s*", re.DOTALL)
_GRADE_NAMES = {"CORRECT": Grade.CORRECT, "INCORRECT": Grade.INCORRECT,
                "NOT_ATTEMPTED": Grade.NOT_ATTEMPTED, "NOT ATTEMPTED": Grade.NOT_ATTEMPTED}
_BULLET = re.compile(r"^\s*[-*\u2022]\s+(.*\S)\s*$")
_NON_FACTUAL = re.compile(r"^\s*NON_FACTUAL\b", re.MULTILINE)


def strip_think(text: str) -> str | None:
    """Remove one complete leading think block; an unclosed ``<think>`` means no final reply (None)."""
    text = text.strip()
    match = _THINK.match(text)
    if match:
        return text[match.end():].strip()
    return None if "<think>" in text or "</think>" in text else text


def _grade_token(token: Any) -> Grade | None:
    if not isinstance(token, str):
        return None
    if token in LETTER_GRADES:
        return Grade.from_letter(token)
    return _GRADE_NAMES.get(token)


def _load_json_object(body: str) -> dict | None:
    if not body.startswith("{"):
        return None
    try:
        value = json.loads(body)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _short_reply_body(reply: str | None) -> tuple[str | None, str | None]:
    """The reply without a leading think block, or why it cannot hold a one-word verdict."""
    if reply is None or not reply.strip():
        return None, "unparseable: empty reply"
    if len(reply) > MAX_REPLY_CHARS:
        return None, f"unparseable: reply of {len(reply)} characters"
    body = strip_think(reply)
    if body is None:
        return None, "unparseable: unclosed <think> block"
    return body, None


def parse_grade(reply: str | None) -> tuple[Grade | None, str | None]:
    """``(grade, None)`` for exactly one valid grade, else ``(None, "unparseable: ...")``."""
    body, problem = _short_reply_body(reply)
    if problem:
        return None, problem
    grade = _grade_token(body)
    if grade is not None:
        return grade, None
    obj = _load_json_object(body)
    if obj is not None:
        if set(obj) != {"grade"}:
            return None, f"unparseable: JSON keys {sorted(obj)} (want only 'grade')"
        grade = _grade_token(obj["grade"])
        if grade is not None:
            return grade, None
        return None, f"unparseable: JSON grade {obj['grade']!r}"
    return None, f"unparseable: {_preview(body)}"


def clean_facts(facts: list[str]) -> list[str]:
    """Drop facts under three words and de-duplicate case-insensitively, keeping first occurrences (METHOD 3.3)."""
    seen: set[str] = set()
    kept = []
    for fact in facts:
        fact = " ".join(fact.split())
        key = fact.casefold().rstrip(".")
        if len(fact.split()) < MIN_FACT_WORDS or key in seen:
            continue
        seen.add(key)
        kept.append(fact)
    return kept


def parse_facts(reply: str | None) -> tuple[list[str] | None, bool, str | None]:
    """Parse an atomic-facts reply: JSON ``{"facts": [...], "non_factual": bool}`` or ``- fact`` lines.

    Returns ``(facts, non_factual, reason)``; facts None = unparseable. A ``NON_FACTUAL`` line means no facts.
    """
    if reply is None or not reply.strip():
        return None, False, "unparseable: empty reply"
    if len(reply) > MAX_FACT_REPLY_CHARS:
        return None, False, f"unparseable: reply of {len(reply)} characters"
    body = strip_think(reply)
    if body is None:
        return None, False, "unparseable: unclosed <think> block"
    obj = _load_json_object(body)
    if obj is not None:
        return _facts_from_json(obj)
    if _NON_FACTUAL.search(body):
        return [], True, None
    bullets = [m.group(1) for m in map(_BULLET.match, body.splitlines()) if m]
    if not bullets:
        return None, False, f"unparseable: no '- fact' lines in {_preview(body)}"
    return clean_facts(bullets), False, None


def _facts_from_json(obj: dict) -> tuple[list[str] | None, bool, str | None]:
    facts, non_factual = obj.get("facts"), obj.get("non_factual", False)
    if not set(obj) <= {"facts", "non_factual"} or not isinstance(non_factual, bool):
        return None, False, f"unparseable: JSON keys {sorted(obj)}"
    if not isinstance(facts, list) or not all(isinstance(f, str) for f in facts):
        return None, False, "unparseable: 'facts' is not a list of strings"
    if non_factual:
        return [], True, None
    return clean_facts(facts), False, None


_TRUE = {"TRUE", "SUPPORTED", "YES"}
_FALSE = {"FALSE", "NOT_SUPPORTED", "NOT SUPPORTED", "NO"}


def parse_verify(reply: str | None) -> tuple[bool | None, str | None]:
    """Exactly ``True``/``False`` (any case, optional final period) or JSON ``{"supported": bool}``."""
    body, problem = _short_reply_body(reply)
    if problem:
        return None, problem
    word = body.rstrip(".").strip().upper()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE, None
    obj = _load_json_object(body)
    if obj is not None and set(obj) == {"supported"} and isinstance(obj["supported"], bool):
        return obj["supported"], None
    return None, f"unparseable: {_preview(body)}"


def lenient_grade(reply: str) -> Grade:
    """The upstream-style lenient parse, kept ONLY as the benchmark's baseline: first grade word or letter wins."""
    text = reply.upper()
    for pattern, grade in ((r"\b(CORRECT|A)\b", Grade.CORRECT), (r"\b(INCORRECT|B)\b", Grade.INCORRECT)):
        if re.search(pattern, text):
            return grade
    return Grade.NOT_ATTEMPTED


def _preview(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= width else flat[:width] + "...")
