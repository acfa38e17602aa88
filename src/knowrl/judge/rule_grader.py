"""Deterministic SimpleQA-style grading without a model (METHOD 3.2): the offline CPU grader, the default judge for
rewards and tables, and the June variant's keyword pre-filter.

Grades follow SimpleQA's rules. CORRECT: the answer holds the gold's essential information and does not contradict
it; hedging is fine ("I am not sure, maybe Paris"). INCORRECT: it contradicts or negates the gold, is significantly
incomplete, or offers several candidates that are not all the gold. NOT_ATTEMPTED: empty, a refusal (one definition,
``knowrl.judge.refusal``), or a number less precise than the gold that does not contradict it ("the 1980s",
"around 100k", "more than 50k", "between 3 and 5" for golds 1987 / 120k / 120k / 3): SimpleQA grades "around 100k"
and "more than 50k" for 120k NOT_ATTEMPTED because they neither confirm nor contradict the gold. A truncated answer
that claims to be complete ("3.14" for 3.14159, "1776" for July 4, 1776) stays INCORRECT, like SimpleQA's "Malia"
for "Malia and Sasha".

The gold is compared by its shape: a date needs every date part it gives (month names, ISO, 7/4/1776 read either
way, 1776年7月4日); a quantity needs every number at the gold's precision, units converted within a dimension
(7000 m is 7 km, 7 miles is not); text needs its words as a phrase or one by one (small name typos allowed), where a
word with digits inside must match whole (H2O is not H2O2, F16 is F-16) and CJK text matches by characters
(北京 in 中国的首都是北京。). Gold words the question already names need not be repeated ("Michelle" for "Michelle
Obama" when asked for Obama's wife).
"""

from __future__ import annotations

import re

from knowrl.judge.answer_text import STOP_WORDS, gold_units, normalize, text_match, undot, word_parts
from knowrl.judge.quantities import MATCH, VAGUE, dates_verdict, is_quantity, numbers_verdict, parse_dates, quantities
from knowrl.judge.refusal import candidate_words, is_refusal, strip_abstentions
from knowrl.judge.types import Grade

__all__ = ["STOP_WORDS", "keyword_prefilter", "normalize", "parse_dates", "quantities", "rule_grade"]

# -- grading ------------------------------------------------------------------------------------------------------
_NEGATION = re.compile(r"(?:^| )(?:not|never|neither|nor|rather than|instead of|other than|unlike|except) "
                       r"(?:[^\s|]+ ){0,2}|(?:^| )(?:不 是|并 非|而 非|不 在|没 有|非) ")
_CLAUSE_BREAK = re.compile(r"[;:!?()\[\]，。；：！？、]|,(?!\d)|\.(?=\s|$)|\bbut\b|但是|不过|而是")
# What separates two guesses ("Paris or Lyon", "Paris, maybe Lyon", "北京或上海").
ALTERNATIVE_MARKERS = (r"\bor\b", r"(?:(?<!\d)/|/(?!\d))", r"\bmaybe\b", r"\bperhaps\b", r"\bpossibly\b",
                       r"\balternatively\b", r"\botherwise\b", r"\b(?:could|might|may) also be\b", "或者", "或是",
                       "或许", "还是", "也可能", "(?<!不)可能", "或")
_ENUMERATION = re.compile(r"\s*(?:,(?!\s*\d)|;|\band\b|&|\bas well as\b)\s*", re.I)
_VERBS = frozenset("is are was were be been has have had do does did".split())


def _verdict(gold: str, pred: str, question: str | None = None) -> str | None:
    """MATCH, VAGUE or None for one gold alias, chosen by the gold's shape (module docstring)."""
    gold_dates = parse_dates(gold)
    if gold_dates:
        return dates_verdict(gold_dates, pred)
    if is_quantity(gold):
        return numbers_verdict(gold, pred)
    return MATCH if text_match(gold, pred, question) else None


def _negated(gold: str, pred: str) -> bool:
    """The gold right after a negation in the same clause ("not Paris", "rather than Paris", "不是北京"), once
    hedges are gone ("I am not sure, maybe Paris" negates nothing); the gold's own commas are no clause break."""
    target = normalize(gold).split()
    text = " | ".join(normalize(clause) for clause in _CLAUSE_BREAK.split(strip_abstentions(undot(pred))))
    gold_re = r" (?:\| )?".join(map(re.escape, target))
    return bool(target) and re.search(rf"(?:{_NEGATION.pattern}){gold_re}(?: |$)", text) is not None


def _several_candidates(aliases: list[str], pred: str, question: str | None) -> bool:
    """Two or more guesses ("Mars or Venus", "Paris, maybe Lyon") that are not all the gold; a separator the
    gold itself contains ("AC/DC", "Maybe Baby") does not split."""
    golds = " ".join(aliases)
    splitter = "|".join(m for m in ALTERNATIVE_MARKERS if not re.search(m, golds, re.I)) or "(?!)"
    guesses = [s for s in re.split(splitter, pred, flags=re.I)
               if s and (candidate_words(s) or any(_verdict(a, s, question) == MATCH for a in aliases))]
    return len(guesses) > 1 and not all(any(_verdict(a, s, question) == MATCH for a in aliases) for s in guesses)


def _listed_extra(aliases: list[str], pred: str, question: str | None) -> bool:
    """A bare list joined by "and" ("Paris, Lyon and Marseille") with an item that is no part of the gold (SimpleQA:
    "Malia, Sasha, and Susan" is INCORRECT for "Malia and Sasha"); a clause with a verb is not a list item."""
    if not re.search(r"\band\b|&", pred, re.I):
        return False
    gold_items = [g for a in aliases for g in _ENUMERATION.split(a) if g.strip()]
    found = {i: any(_verdict(g, i, question) == MATCH for g in gold_items) for i in _ENUMERATION.split(pred)}
    items = [i for i, ok in found.items() if ok or candidate_words(i)]  # hedges are not items
    units = [[u for u in gold_units(word_parts(i)) if u[0] not in STOP_WORDS] for i in items]
    if len(items) < 2 or any(len(u) > 4 or {w for w in normalize(i).split()} & _VERBS for i, u in zip(items, units)):
        return False
    return any(found[i] for i in items) and not all(found[i] for i in items)  # an acronym spelt out is no list


def _aliases(gold: str) -> list[str]:
    return [a.strip() for a in re.split(r"\s*[|;]\s*", gold) if a.strip()] or [gold]


def rule_grade(gold: str, prediction: str | None, question: str | None = None) -> tuple[Grade, str]:
    """Grade one answer; returns ``(grade, reason)`` with a short reason naming the rule that decided.

    >>> rule_grade("H2O", "It is H2O.")[0].value, rule_grade("北京", "中国的首都是北京。")[0].value
    ('CORRECT', 'CORRECT')
    >>> rule_grade("1987", "the 1980s"), rule_grade("Paris", "I am not sure, maybe Paris")[0].value
    ((<Grade.NOT_ATTEMPTED: 'NOT_ATTEMPTED'>, 'less precise than the gold'), 'CORRECT')
    """
    if prediction is None or not prediction.strip():
        return Grade.NOT_ATTEMPTED, "empty answer"
    aliases = _aliases(gold)
    verdicts = {_verdict(alias, prediction, question) for alias in aliases}
    if MATCH in verdicts:
        if any(_negated(alias, prediction) for alias in aliases):
            return Grade.INCORRECT, "gold negated"
        if _several_candidates(aliases, prediction, question) or _listed_extra(aliases, prediction, question):
            return Grade.INCORRECT, "several candidate answers"
        return Grade.CORRECT, "gold found"
    if is_refusal(prediction):
        return Grade.NOT_ATTEMPTED, "refusal"
    if VAGUE in verdicts:
        return Grade.NOT_ATTEMPTED, "less precise than the gold"
    return Grade.INCORRECT, "gold not found"


def keyword_prefilter(gold: str, answer: str) -> bool:
    """June-variant pre-filter: False when the gold has no digit and none of its keywords (``\\w+`` tokens,
    lower-cased, longer than one character, not stop words) is a token of the answer."""
    if any(ch.isdigit() for ch in gold):
        return True
    keywords = {w for w in re.findall(r"\w+", gold.lower()) if len(w) > 1 and w not in STOP_WORDS}
    return not keywords or bool(keywords & set(re.findall(r"\w+", answer.lower())))
