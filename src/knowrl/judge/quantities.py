"""Quantities and dates in answers, for the rule grader: numbers with their precision (1987 vs "the 1980s"),
multipliers and units converted within a dimension (7000 m is 7 km), approximations, bounds and ranges, and dates in
several formats (month names, ISO, 7/4/1776 read either way, 1776年7月4日). A verdict is MATCH (the gold at its
precision), VAGUE (consistent but less precise: SimpleQA's NOT_ATTEMPTED) or None."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from knowrl.judge.answer_text import STOP_WORDS, fold_text
from knowrl.judge.refusal import CJK

MATCH, VAGUE = "match", "vague"  # verdicts of one gold alias: found at its precision / consistent but less precise


# -- quantities ---------------------------------------------------------------------------------------------------
MULTIPLIERS = {"hundred": 2, "thousand": 3, "k": 3, "million": 6, "mn": 6, "billion": 9, "bn": 9, "trillion": 12,
               "万": 4, "亿": 8}
_UNIT_TABLE = {  # dimension, factor to the dimension's base unit
    "length": {"m": 1, "meter": 1, "metre": 1, "米": 1, "km": 1000, "kilometer": 1000, "kilometre": 1000,
                "公里": 1000, "千米": 1000, "cm": Decimal("0.01"), "centimeter": Decimal("0.01"),
                "centimetre": Decimal("0.01"), "mm": Decimal("0.001"), "mi": Decimal("1609.344"),
                "mile": Decimal("1609.344"), "ft": Decimal("0.3048"), "foot": Decimal("0.3048"),
                "feet": Decimal("0.3048"), "inch": Decimal("0.0254"), "yard": Decimal("0.9144")},
    "mass": {"kg": 1, "kilogram": 1, "公斤": 1, "千克": 1, "g": Decimal("0.001"), "gram": Decimal("0.001"),
              "克": Decimal("0.001"), "lb": Decimal("0.45359237"), "t": 1000, "ton": 1000, "tonne": 1000},
    "time": {"second": 1, "sec": 1, "minute": 60, "min": 60, "hour": 3600, "hr": 3600, "day": 86400,
              "week": 604800, "month": 2629746, "year": 31556952, "yr": 31556952, "小时": 3600, "分钟": 60},
    "percent": {"%": 1, "percent": 1, "per cent": 1, "pct": 1},
    "usd": {"$": 1, "usd": 1, "dollar": 1, "美元": 1}, "eur": {"€": 1, "eur": 1, "euro": 1},
    "gbp": {"£": 1, "gbp": 1}, "cny": {"元": 1, "yuan": 1, "rmb": 1, "人民币": 1},
}
UNITS = {word: (dim, Decimal(factor)) for dim, table in _UNIT_TABLE.items() for word, factor in table.items()}
# Words that may follow a number without changing what it counts (compared as plain numbers).
COUNT_WORDS = frozenset("""people persons times points goals games matches episodes seasons members children votes
copies pages words species countries languages floors storeys stories medals titles albums songs wins runs old
century centuries pounds 年 月 日 号 个 人 次 岁 位 名 届 部 本 首 条 座 家 种 场 枚 集 年代 世纪""".split())
_APPROX = {"approx": r"about|around|approximately|approx\.?|roughly|nearly|almost|circa|ca\.|c\.|some|~|约|大约|大概|近",
           "lower": r"over|more than|greater than|above|at least|in excess of|exceeding|upwards of|超过|多于|至少|逾",
           "upper": r"under|less than|fewer than|below|at most|up to|no more than|不到|少于|低于|至多"}
_QUALIFIER = {kind: re.compile(rf"(?:^|[\s(])(?:{p})\s*$") for kind, p in _APPROX.items()}
_UNIT_WORDS = "|".join(sorted((re.escape(w) + ("(?:e?s)?(?![a-z])" if w.isascii() and w.isalpha() else "")
                               for w in {*UNITS, *COUNT_WORDS} if w not in "$€£"), key=len, reverse=True))
_QUANTITY = re.compile(
    r"(?<![a-z0-9.,])(?P<cur>[$€£])?\s?(?P<int>\d+)(?P<frac>\.\d+)?(?P<suffix>st|nd|rd|th|s(?![a-z]))?"
    r"(?:\s?(?P<mult>hundred|thousand|million|billion|trillion|bn|mn|k(?![a-z])|万|亿))?"
    rf"(?:\s?(?P<unit>{_UNIT_WORDS}))?")
_RANGE_JOIN = re.compile(r"^\s*(?:-|\u2013|\u2014|to|~|至|到)\s*$")
_DATE_AS_YEAR = re.compile(r"\b(\d{4})-\d{1,2}-\d{1,2}\b|\b\d{1,2}[/.]\d{1,2}[/.](\d{4})\b|"
                           r"\b(\d{4})[/.]\d{1,2}[/.]\d{1,2}\b")  # numeric dates count as their year


@dataclass(frozen=True)
class Quantity:
    """A number as written: value (in ``unit``), the precision it claims, and what it means: ``point`` (a value),
    ``approx`` / ``lower`` / ``upper`` (about / at least / at most it), ``span`` (a range or century, both ends
    included) or ``decade`` (``short``: written ``'80s``, century unknown)."""

    value: Decimal
    quantum: Decimal
    kind: str = "point"
    high: Decimal | None = None
    unit: tuple[str, Decimal] | None = None
    year: bool = False
    short: bool = False


def _quantity(m: re.Match, before: str) -> Quantity:
    digits, frac, raw = m.group("int"), m.group("frac") or "", m.group("unit") or ""
    exp = MULTIPLIERS[m.group("mult")] if m.group("mult") else 0
    value = Decimal(digits + frac).scaleb(exp)
    unit = UNITS.get(m.group("cur") or "") or next((UNITS[w] for w in (raw, raw[:-1], raw[:-2]) if w in UNITS), None)
    zeros = len(digits) - len(digits.rstrip("0")) if digits.strip("0") else 0
    own = Decimal(1).scaleb(exp - (len(frac) - 1)) if frac else Decimal(1).scaleb(exp + zeros)
    year = not frac and not exp and len(digits) == 4 and 1000 <= int(digits) <= 2100
    if m.group("suffix") == "s" and digits.endswith("0") and len(digits) in (2, 4) and not exp and not frac:
        return Quantity(value, Decimal(10), "decade", value + 9, short=len(digits) == 2)
    if raw in ("century", "世纪") and not frac and not exp:
        return Quantity((value - 1) * 100 + 1, Decimal(100), "span", value * 100)
    after = m.string[m.end():]
    if _MONTH_NEAR.search(before) or _MONTH_NEAR.match(after):  # the 5 of "August 5" is a day, not 5 years
        unit = ("day of month", Decimal(1))
    kind = next((k for k, p in _QUALIFIER.items() if p.search(before)), "point")
    tail = re.match(r"\s*(?:(?P<approx>左右|or so\b|-?ish\b)|(?P<lower>\+|or more\b|or over\b|以上)|"
                    r"(?P<upper>or less\b|or fewer\b|以下))", after)
    if kind == "point" and tail:  # "50+", "4 or more", "300左右"
        kind = tail.lastgroup
    if kind == "approx":  # an approximation claims only its own rounding: "around 1990" is to the decade
        return Quantity(value, own, kind, unit=unit)
    quantum = own if frac or exp or zeros >= 3 else Decimal(1)
    return Quantity(value, Decimal(1) if year else quantum, kind, unit=unit, year=year)


def quantities(text: str) -> list[Quantity]:
    """Every number of ``text`` with its precision, qualifier and unit; ``3 to 5`` and ``between 3 and 5`` are
    one span, a full date counts as its year."""
    text = _DATE_AS_YEAR.sub(lambda m: next(g for g in m.groups() if g), fold_text(text))
    text = re.sub(rf"(?<=\d)(?={CJK})|(?<={CJK})(?=\d)", " ", text)  # 于1949年 -> 于 1949 年
    found = [(m, _quantity(m, text[max(0, m.start() - 20):m.start()])) for m in _QUANTITY.finditer(text)]
    result: list[Quantity] = []
    i = 0
    while i < len(found):
        (m, low), nxt = found[i], found[i + 1] if i + 1 < len(found) else None
        joint = text[m.end():nxt[0].start()] if nxt else ""
        between = re.search(r"between\s*$", text[:m.start()]) and re.fullmatch(r"\s*and\s*", joint)
        if nxt and low.kind == nxt[1].kind == "point" and (between or _RANGE_JOIN.match(joint)):
            high = nxt[1]
            scale = Decimal(1).scaleb(MULTIPLIERS[nxt[0].group("mult")]) \
                if nxt[0].group("mult") and not m.group("mult") else Decimal(1)
            top = high.value
            if low.year and top < 100:  # a season: 2002-03 ends in 2003
                top += low.value - low.value % 100 + (100 if top < low.value % 100 else 0)
            result.append(Quantity(low.value * scale, low.quantum, "span", top, high.unit or low.unit))
            i += 2
        else:
            result.append(low)
            i += 1
    return result


def _factor(p: Quantity, g: Quantity) -> Decimal | None:
    """What turns ``p``'s unit into ``g``'s; None across dimensions. A missing unit is presumed to be the other's."""
    if p.unit and g.unit:
        return p.unit[1] / g.unit[1] if p.unit[0] == g.unit[0] else None
    return Decimal(1)


def _round(value: Decimal, quantum: Decimal) -> Decimal:
    return (value / quantum).quantize(Decimal(1), rounding=ROUND_HALF_UP) * quantum


def _holds(p: Quantity, value: Decimal, factor: Decimal) -> bool:
    """``value`` lies in ``p``'s span or decade (a short decade compares the last two digits)."""
    low, high = p.value * factor, (p.high or p.value) * factor
    if p.short:
        return low <= value % 100 <= high
    return low <= value <= high


def _same_span(p: Quantity, g: Quantity, factor: Decimal) -> bool:
    """The same decade ('90s is the 1990s) or the same range."""
    if p.kind != g.kind:
        return False
    if p.short:
        return p.value % 100 == g.value % 100
    return (p.value * factor, (p.high or p.value) * factor) == (g.value, g.high)


def _quantity_verdict(g: Quantity, preds: list[Quantity]) -> str | None:
    """MATCH when some answer number says ``g`` at ``g``'s precision; VAGUE when one is less precise but consistent
    with it (about / more than / less than / a span or decade holding it); else None."""
    verdict = None
    for p in preds:
        factor = _factor(p, g)
        if factor is None:
            continue
        value = p.value * factor
        if g.kind in ("decade", "span"):  # the gold is itself a span: the same span, or a year inside a decade
            if _same_span(p, g, factor) or (g.kind == "decade" and p.year and _holds(g, value, Decimal(1))):
                return MATCH
        elif p.kind in ("point", "approx") and _round(value, g.quantum) == _round(g.value, g.quantum):
            return MATCH
        elif (p.kind == "approx" and _round(g.value, p.quantum * factor) == _round(value, p.quantum * factor)) or \
                (p.kind == "lower" and g.value >= value) or (p.kind == "upper" and g.value <= value) or \
                (p.kind in ("span", "decade") and _holds(p, g.value, factor)):
            verdict = VAGUE
    return verdict


def is_quantity(gold: str) -> bool:
    """A gold that is only numbers with their units, multipliers and qualifiers (``120k``, ``7 km``, ``1990s``);
    a number hyphenated to a word is a name (``7-Eleven``, ``F-16``)."""
    if re.search(r"[^\W\d_][-/]\d|\d[-/][^\W\d_]", unicodedata.normalize("NFKC", gold)):
        return False
    text = fold_text(gold)
    if not _QUANTITY.search(text):
        return False
    rest = re.sub("|".join(_APPROX.values()), " ", _QUANTITY.sub(" ", text))
    return all(w in STOP_WORDS for w in re.findall(r"[^\W_]+", rest))


def numbers_verdict(gold: str, pred: str) -> str | None:
    preds = quantities(pred)
    verdicts = [_quantity_verdict(g, preds) for g in quantities(gold)]
    if not verdicts or None in verdicts:
        return None
    return MATCH if all(v == MATCH for v in verdicts) else VAGUE


# -- dates --------------------------------------------------------------------------------------------------------
MONTHS = {name: i for i, names in enumerate((
    "january jan", "february feb", "march mar", "april apr", "may", "june jun", "july jul", "august aug",
    "september sep sept", "october oct", "november nov", "december dec"), 1) for name in names.split()}
_MONTH = r"(?P<mon>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_MONTH_NEAR = re.compile(rf"(?:\b(?:{'|'.join(MONTHS)})\.?\s*$)|(?:^\s*(?:of\s+)?(?:{'|'.join(MONTHS)})\b)")
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>\d{4})"
_DATE_PATTERNS = [re.compile(p, re.I) for p in (
    r"\b(?P<year>\d{4})[-/.](?P<mnum>\d{1,2})[-/.](?P<day>\d{1,2})\b",
    r"(?P<year>\d{4})\s*年\s*(?P<mnum>\d{1,2})\s*月(?:\s*(?P<day>\d{1,2})\s*[日号])?",
    r"\b(?P<a>\d{1,2})[/.](?P<b>\d{1,2})[/.](?P<year>\d{4})\b",
    rf"\b{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?\b",
    rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+(?:of\s+)?{_YEAR})?\b",
    rf"\b{_MONTH},?\s+(?:of\s+)?{_YEAR}\b",
)]


def parse_dates(text: str) -> list[tuple[int | None, int | None, int | None]]:
    """``(year, month, day)`` of every date written with a month (names, ISO, 年月日, or ``d/m/yyyy`` read both
    ways when both are valid)."""
    text = fold_text(text)
    dates, taken = [], []
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            if any(s <= m.start() < e for s, e in taken):
                continue
            parts = m.groupdict()
            year = int(parts["year"]) if parts.get("year") else None
            if parts.get("a"):
                a, b = int(parts["a"]), int(parts["b"])
                readings = [(year, mon, day) for mon, day in ((a, b), (b, a)) if 1 <= mon <= 12 and 1 <= day <= 31]
            else:
                month = int(parts["mnum"]) if parts.get("mnum") else MONTHS[parts["mon"].lower()]
                day = int(parts["day"]) if parts.get("day") else None
                readings = [(year, month, day)] if 1 <= month <= 12 and (day is None or 1 <= day <= 31) else []
            dates.extend(dict.fromkeys(readings))
            taken.append((m.start(), m.end()))
    return dates


def dates_verdict(gold_dates: list, pred: str) -> str | None:
    pred_dates = parse_dates(pred)
    if all(any(all(g is None or g == p for g, p in zip(gold, d)) for d in pred_dates) for gold in gold_dates):
        return MATCH
    years = [Quantity(Decimal(y), Decimal(1), year=True) for y, _, _ in gold_dates if y is not None]
    vague = [q for q in quantities(pred) if q.kind != "point"]  # "the 1770s" for July 4, 1776
    return VAGUE if years and vague and all(_quantity_verdict(y, vague) for y in years) else None
