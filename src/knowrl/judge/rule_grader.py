"""Deterministic SimpleQA-style grading without a model: the offline CPU grader and the June-variant rule stages.

Order of checks: empty -> NOT_ATTEMPTED; a date gold needs every date part it gives; a numeric gold needs every
number at the gold's precision; a text gold (or one of its ``|``/``;`` aliases) needs all its content words (small
typos allowed); several candidate answers, a range or "not <gold>" are INCORRECT; no match + refusal wording ->
NOT_ATTEMPTED; otherwise INCORRECT (hedged wrong answers are wrong, METHOD 3.2).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from knowrl.judge.types import Grade

ARTICLES = {"a", "an", "the"}
STOP_WORDS = frozenset("""a an the of in on at to for and or is are was were be been being by with from as that this
these those it its his her their he she they them which who whom what when where why how not no but into than then
there do does did has have had""".split())
# METHOD 3.2, June variant: these answers score -1 without a judge call.
JUNE_REFUSAL_PATTERNS = (
    r"\b(?:i\s+)?(?:cannot|can't|can\s+not|am\s+unable\s+to|unable\s+to|am\s+not\s+able\s+to)\s+"
    r"(?:answer|determine|provide|say|tell|know|find|confirm|verify|be\s+sure|be\s+answered)",
    r"\bas an ai\b[^.]*\b(?:cannot|can't|unable|not able|do not|don't)",
    r"\b(?:need|needs|require|requires) (?:more|additional|further) (?:information|context|details)",
    r"\b(?:insufficient|not enough) (?:information|data|context|details)",
    r"\bethical (?:concerns?|reasons?|considerations?)",
)
# The offline grader also treats these as declining to answer (SimpleQA NOT_ATTEMPTED).
EXTRA_REFUSAL_PATTERNS = (
    r"\b(?:cannot|can't|could not|couldn't) (?:be )?(?:determined|known|find|verify|confirm|recall)\b",
    r"\bit depends\b", r"\bnot (?:enough|sufficient) (?:information|context|data)\b",
    r"\bno (?:reliable |available )?(?:information|data|record)s?\b",
    r"\A\W*(?:unknown|unclear|n/?a|none|unsure|uncertain)\W*\Z",
)
# Hedges: a refusal only when no candidate answer follows ("not sure, perhaps Lyon" is a wrong answer).
HEDGE_PATTERNS = (
    r"\bi (?:do not|don't|dont|did not|didn't) know\b(?: (?:the|an?) answer\b)?",
    r"\b(?:i'm|i am) not (?:sure|certain|aware)\b", r"\bnot sure\b", r"\bno idea\b",
)
FILLER_WORDS = frozenset("""sorry perhaps maybe probably possibly guess say honestly really exactly about this that
i i'm im me my it its so but well unfortunately though however here question answer""".split())
_JUNE_RE = [re.compile(p, re.I) for p in JUNE_REFUSAL_PATTERNS]
_ALL_REFUSAL_RE = _JUNE_RE + [re.compile(p, re.I) for p in EXTRA_REFUSAL_PATTERNS]
_HEDGE_RE = [re.compile(p, re.I) for p in HEDGE_PATTERNS]

MONTHS = {name: i for i, names in enumerate((
    "january jan", "february feb", "march mar", "april apr", "may", "june jun", "july jul", "august aug",
    "september sep sept", "october oct", "november nov", "december dec"), 1) for name in names.split()}
_MONTH = r"(?P<mon>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>\d{4})"
_DATE_PATTERNS = [re.compile(p, re.I) for p in (
    r"\b(?P<year>\d{4})-(?P<mnum>\d{1,2})-(?P<day>\d{1,2})\b",
    rf"\b{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?\b",
    rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?\b",
    rf"\b{_MONTH},?\s+{_YEAR}\b",
)]
MULTIPLIERS = {"thousand": 3, "k": 3, "million": 6, "mn": 6, "billion": 9, "bn": 9, "trillion": 12}
NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())} | {
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100, "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "once": 1, "twice": 2}
_NUMBER = re.compile(
    r"(?<![\w.])(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?P<frac>\.\d+)?(?:st|nd|rd|th)?"
    r"(?:\s*(?P<mult>thousand|million|billion|trillion|bn|mn|k)\b)?", re.I)
_RANGE = re.compile(r"\b(?:between\s+\S+\s+and\s+\S+|\d[\d,.]*\s*(?:-|\u2013|to)\s*\d)", re.I)
UNIT_WORDS = frozenset("""km kilometers kilometres kilometer kilometre m meters metres meter metre cm mm miles mile
mi kg kilograms kilogram g grams lbs lb pounds pound percent per cent feet ft foot inches inch years year old
times people dollars usd euros points goals""".split())


def normalize(text: str) -> str:
    """Fold case, accents, punctuation, dotted abbreviations and articles: ``"The U.S.A.!"`` -> ``"usa"``."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"\b(?:[A-Za-z]\.){2,}", lambda m: m.group().replace(".", ""), text)
    text = text.casefold().replace("&", " and ")
    text = re.sub(r"[^\w\s]|_", " ", text)
    return " ".join(t for t in text.split() if t not in ARTICLES)


def is_refusal(answer: str | None, variant: str = "default") -> bool:
    """Refusal wording. ``june``: the June-2025 reward's patterns only (METHOD 3.2); ``default`` adds more,
    and counts a hedge ("I'm not sure") as a refusal only when no candidate answer comes with it."""
    if answer is None or not answer.strip():
        return True
    text = answer.replace("\u2019", "'")
    if variant == "june":
        return any(p.search(text) for p in _JUNE_RE)
    if any(p.search(text) for p in _ALL_REFUSAL_RE):
        return True
    if not any(p.search(text) for p in _HEDGE_RE):
        return False
    for pattern in _HEDGE_RE:
        text = pattern.sub(" ", text)
    rest = [w for w in normalize(text).split() if w not in STOP_WORDS and w not in FILLER_WORDS]
    return not rest


def keyword_prefilter(gold: str, answer: str) -> bool:
    """June-variant pre-filter: False when the gold has no digit and none of its keywords (``\\w+`` tokens,
    lower-cased, longer than one character, not stop words) is a token of the answer."""
    if any(ch.isdigit() for ch in gold):
        return True
    keywords = {w for w in re.findall(r"\w+", gold.lower()) if len(w) > 1 and w not in STOP_WORDS}
    return not keywords or bool(keywords & set(re.findall(r"\w+", answer.lower())))


# -- numbers and dates -----------------------------------------------------------------------------------
def _numbers(text: str) -> list[tuple[Decimal, Decimal, bool]]:
    """``(value, precision quantum, year_like)`` for every number, including small number words."""
    found = []
    for m in _NUMBER.finditer(text):
        mult = m.group("mult")
        digits = m.group("int").replace(",", "")
        frac = m.group("frac") or ""
        exp = MULTIPLIERS.get(mult.lower(), 0) if mult else 0
        try:
            value = Decimal(digits + frac).scaleb(exp)
        except InvalidOperation:
            continue
        if frac:
            quantum = Decimal(1).scaleb(exp - (len(frac) - 1))
        else:
            zeros = len(digits) - len(digits.rstrip("0")) if digits.strip("0") else 0
            quantum = Decimal(1).scaleb(exp + zeros) if (exp or zeros >= 3) else Decimal(1)
        year_like = not frac and not exp and len(digits) == 4 and 1000 <= int(digits) <= 2100
        found.append((value, Decimal(1) if year_like else quantum, year_like))
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in NUMBER_WORDS:
            found.append((Decimal(NUMBER_WORDS[word]), Decimal(1), False))
    return found


def _round_to(value: Decimal, quantum: Decimal) -> Decimal:
    return (value / quantum).quantize(Decimal(1), rounding=ROUND_HALF_UP) * quantum


def _numbers_match(gold: str, pred: str) -> bool:
    gold_numbers = _numbers(gold)
    pred_numbers = _numbers(pred)
    for value, quantum, _ in gold_numbers:
        if not any(_round_to(p, quantum) == _round_to(value, quantum) for p, _, _ in pred_numbers):
            return False
    return bool(gold_numbers)


def parse_dates(text: str) -> list[tuple[int | None, int | None, int | None]]:
    """``(year, month, day)`` of every date written with a month (names, abbreviations or ISO)."""
    dates, taken = [], []
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            if any(s <= m.start() < e for s, e in taken):
                continue
            parts = m.groupdict()
            month = int(parts["mnum"]) if parts.get("mnum") else MONTHS[parts["mon"].lower()]
            day = int(parts["day"]) if parts.get("day") else None
            year = int(parts["year"]) if parts.get("year") else None
            if day is not None and not 1 <= day <= 31:
                continue
            dates.append((year, month, day))
            taken.append((m.start(), m.end()))
    return dates


def _dates_match(gold_dates: list, pred_dates: list) -> bool:
    for gold in gold_dates:
        if not any(all(g is None or g == p for g, p in zip(gold, pred)) for pred in pred_dates):
            return False
    return True


# -- text ------------------------------------------------------------------------------------------------
def _token_present(token: str, pred_tokens: set[str]) -> bool:
    if token in pred_tokens or token.rstrip("s") in {t.rstrip("s") for t in pred_tokens}:
        return True
    if len(token) < 5:
        return False
    return any(difflib.SequenceMatcher(None, token, t).ratio() >= 0.8 for t in pred_tokens if len(t) >= 4)


def _text_match(gold: str, pred: str) -> bool:
    norm_gold, norm_pred = normalize(gold), normalize(pred)
    if not norm_gold:
        return False
    if f" {norm_gold} " in f" {norm_pred} ":
        return True
    content = [t for t in norm_gold.split() if t not in STOP_WORDS] or norm_gold.split()
    pred_tokens = set(norm_pred.split())
    return all(_token_present(t, pred_tokens) for t in content)


def _aliases(gold: str) -> list[str]:
    return [a.strip() for a in re.split(r"\s*[|;]\s*", gold) if a.strip()] or [gold]


def _alternatives(pred: str) -> list[str]:
    parts = re.split(r"\s*(?:\bor\b|/)\s*", re.sub(r"^\s*either\s+", "", pred, flags=re.I), flags=re.I)
    return [p for p in parts if p.strip()]


def _negated(gold: str, pred: str) -> bool:
    norm_gold, norm_pred = normalize(gold), normalize(pred.replace("n't", " not"))
    return bool(norm_gold) and re.search(rf"\b(?:not|never|neither|nor)\s+(?:\w+\s+){{0,2}}{re.escape(norm_gold)}\b",
                                         norm_pred) is not None


def _matches(gold: str, pred: str) -> bool:
    gold_dates = parse_dates(gold)
    if gold_dates:
        return _dates_match(gold_dates, parse_dates(pred))
    if any(ch.isdigit() for ch in gold) or normalize(gold) in NUMBER_WORDS:
        words = [t for t in normalize(re.sub(r"[\d.,]+", " ", gold)).split()
                 if t not in STOP_WORDS and t not in UNIT_WORDS and t not in MULTIPLIERS and t not in NUMBER_WORDS]
        return _numbers_match(gold, pred) and all(_token_present(w, set(normalize(pred).split())) for w in words)
    return _text_match(gold, pred)


def rule_grade(gold: str, prediction: str | None) -> tuple[Grade, str]:
    """Grade one answer; returns ``(grade, reason)`` with a short reason naming the rule that decided."""
    if prediction is None or not prediction.strip():
        return Grade.NOT_ATTEMPTED, "empty answer"
    aliases = _aliases(gold)
    if not any(_matches(alias, prediction) for alias in aliases):
        if is_refusal(prediction):
            return Grade.NOT_ATTEMPTED, "refusal"
        return Grade.INCORRECT, "gold not found"
    if any(_negated(alias, prediction) for alias in aliases):
        return Grade.INCORRECT, "gold negated"
    alternatives = _alternatives(prediction)
    if len(alternatives) > 1 and not any(" or " in a.lower() for a in aliases):
        if not all(any(_matches(alias, alt) for alias in aliases) for alt in alternatives):
            return Grade.INCORRECT, "several candidate answers"
    if any(ch.isdigit() for ch in gold) and not parse_dates(gold) and _RANGE.search(prediction):
        if not all(_numbers_match(gold, alt) for alt in re.split(r"-|\u2013|\bto\b|\band\b", prediction)
                   if any(c.isdigit() for c in alt)):
            return Grade.INCORRECT, "a range, not a value"
    return Grade.CORRECT, "gold found"
