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

import difflib
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from knowrl.judge.refusal import CJK, candidate_words, is_refusal, strip_abstentions
from knowrl.judge.types import Grade

ARTICLES = {"a", "an", "the"}
STOP_WORDS = frozenset("""a an the of in on at to for and or is are was were be been being by with from as that this
these those it its his her their he she they them which who whom what when where why how not no but into than then
there do does did has have had""".split())
MATCH, VAGUE = "match", "vague"  # verdicts of one gold alias: found at its precision / consistent but less precise

# -- text -------------------------------------------------------------------------------------------------------
_TOKEN = re.compile(rf"(?P<cjk>{CJK})|(?P<word>(?:(?!{CJK})[^\W_])+)|(?P<glue>[-/.+\u00b7\u2010\u2011])|(?P<gap>.)",
                    re.S)
CARDINALS = {w: i for i, w in enumerate("""zero one two three four five six seven eight nine ten eleven twelve thirteen
fourteen fifteen sixteen seventeen eighteen nineteen""".split())} | {"once": 1, "twice": 2}
TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
ORDINALS = {w: i for i, w in enumerate("""first second third fourth fifth sixth seventh eighth ninth tenth eleventh
twelfth""".split(), 1)}
_UNIT_WORD = "|".join(sorted("one two three four five six seven eight nine".split() + list(ORDINALS)[:9],
                             key=len, reverse=True))
_NUMBER_WORD = re.compile(rf"\b(?:(?P<tens>{'|'.join(TENS)})(?:[\s-](?P<unit>{_UNIT_WORD}))?|"
                          rf"(?P<word>{'|'.join(sorted([*CARDINALS, *ORDINALS], key=len, reverse=True))}))\b")


def _ordinal(n: int) -> str:
    return f"{n}th" if 10 <= n % 100 <= 20 else f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _number_word(m: re.Match) -> str:
    """"forty-two" -> "42", "third" -> "3rd", "twenty-first" -> "21st"."""
    word = m.group("word") or m.group("unit") or ""
    n = TENS.get(m.group("tens") or "", 0) + ORDINALS.get(word, CARDINALS.get(word, 0))
    return _ordinal(n) if word in ORDINALS else str(n)


def _undot(text: str) -> str:
    """Dotted initials as one word: "U.S.A." -> "USA", "T.J." -> "TJ"."""
    return re.sub(r"\b(?:[A-Za-z]\.){2,}", lambda m: m.group().replace(".", ""), text)


@lru_cache(maxsize=4096)
def _fold(text: str) -> str:
    """Accents, width, case, dotted abbreviations, possessives and apostrophes folded; number words as digits."""
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = _undot(unicodedata.normalize("NFC", text))
    text = text.casefold().replace("&", " and ").replace("\u2019", "'")
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", re.sub(r"(?<=\w)'s\b", "", text)).replace("'", "")
    return _NUMBER_WORD.sub(_number_word, text)


def _parts(text: str) -> list[tuple[str, bool]]:
    """Words split at letter/digit boundaries and CJK characters, each with ``glued``: joined to the next part by
    nothing or a hyphen, slash or dot (``H2O``, ``F-16``, ``3.14``), never across a space or around CJK."""
    parts: list[tuple[str, bool]] = []
    for m in _TOKEN.finditer(_fold(text)):
        if m.lastgroup == "word":
            pieces = re.findall(r"\d+|[^\W\d_]+", m.group())
            parts.extend((p, True) for p in pieces)
        elif m.lastgroup == "cjk":
            parts.append((m.group(), False))
        elif m.lastgroup == "gap" and parts:
            parts[-1] = (parts[-1][0], False)
    if parts:
        parts[-1] = (parts[-1][0], False)
    for i in range(len(parts) - 1):  # CJK neighbours never glue
        if re.match(CJK, parts[i + 1][0]):
            parts[i] = (parts[i][0], False)
    return [p for i, p in enumerate(parts)
            if not (p[0] in ARTICLES and not p[1] and not (i and parts[i - 1][1]))]


def normalize(text: str) -> str:
    """Fold case, accents, punctuation, dotted abbreviations and articles; number words become digits and CJK
    characters separate words: ``"The U.S.A.!"`` -> ``"usa"``, ``"北京"`` -> ``"北 京"``."""
    return " ".join(p for p, _ in _parts(text))


def _find(needle: list[str], hay: list[tuple[str, bool]]) -> bool:
    """``needle`` occurs in ``hay`` as consecutive parts, not glued to a part on either side (H2O not in H2O2)."""
    words, n = [p for p, _ in hay], len(needle)
    return n > 0 and any(words[i:i + n] == needle and not (i and hay[i - 1][1]) and not hay[i + n - 1][1]
                         for i in range(len(hay) - n + 1))


def _units(parts: list[tuple[str, bool]]) -> list[list[str]]:
    """Runs of glued parts, CJK runs included: the gold's words, each matched whole."""
    units: list[list[str]] = []
    joined = False
    for i, (part, glued) in enumerate(parts):
        cjk_run = i and re.match(CJK, part) and re.match(CJK, parts[i - 1][0])
        if units and (joined or cjk_run):
            units[-1].append(part)
        else:
            units.append([part])
        joined = glued
    return units


def _close_spelling(word: str, pred_words: set[str]) -> bool:
    """A name typo (SimpleQA forgives them): an answer word with the same first letter, about the same length and
    80% alike (Barak for Barack; not Australia for Austria, nor Hyung for Chung)."""
    return len(word) >= 5 and any(w[0] == word[0] and abs(len(w) - len(word)) <= 1 and
                                  difflib.SequenceMatcher(None, word, w).ratio() >= 0.8 for w in pred_words)


def _find_squashed(target: str, hay: list[tuple[str, bool]]) -> bool:
    """``target`` spelt by consecutive parts of ``hay`` with the spaces left out (Hyungwon for Hyung Won)."""
    for i in range(len(hay)):
        if i and hay[i - 1][1]:
            continue
        spelt = ""
        for j in range(i, len(hay)):
            spelt += hay[j][0]
            if spelt == target and not hay[j][1]:
                return True
            if len(spelt) >= len(target):
                break
    return False


def _acronym_match(gold: str, pred: str) -> bool:
    """One side writes the other's initials in capitals: "the U.S." for United States, "NASA" for National
    Aeronautics and Space Administration (stop words have no letter)."""
    def capitals(text: str) -> set[str]:
        return {w.lower() for w in re.findall(r"\b[A-Z]{2,6}\b", _undot(text))}

    def initials(text: str) -> list[str]:
        words = [w for w in normalize(text).split() if w not in STOP_WORDS]
        return ["".join(w[0] for w in words[i:j]) for i in range(len(words)) for j in range(i + 2, len(words) + 1)]

    gold_words = normalize(gold).split()
    if len(gold_words) == 1 and gold_words[0] in capitals(gold):
        return gold_words[0] in initials(pred)
    content = [w for w in gold_words if w not in STOP_WORDS]
    return len(content) > 1 and "".join(w[0] for w in content) in capitals(pred)


def _text_match(gold: str, pred: str, question: str | None) -> bool:
    gold_parts, pred_parts = _parts(gold), _parts(pred)
    if _find([p for p, _ in gold_parts], pred_parts) or _acronym_match(gold, pred):
        return True
    units = [u for u in _units(gold_parts) if not all(p in STOP_WORDS for p in u)] or _units(gold_parts)
    if question:
        asked = _parts(question)
        units = [u for u in units if not _find(u, asked)] or units
    if len(units) > 1 and _find_squashed("".join(p for u in units for p in u), pred_parts):
        return True
    pred_words = {"".join(u) for u in _units(pred_parts) if "".join(u).isalpha()}
    singular = {w.rstrip("s") for w in pred_words}
    exact = [_find(u, pred_parts) or (len(u) == 1 and u[0].rstrip("s") in singular) for u in units]
    # a typo is forgiven in a name whose other words are right, or in one long word (Tschaikowsky), never in a
    # short lone word, where it is usually another name (Porter for Potter)
    return bool(units) and all(
        ok or (len(u) == 1 and u[0].isalpha() and not re.match(CJK, u[0]) and (any(exact) or len(u[0]) >= 8)
               and _close_spelling(u[0], pred_words)) for u, ok in zip(units, exact))


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
    text = _DATE_AS_YEAR.sub(lambda m: next(g for g in m.groups() if g), _fold(text))
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


def _is_quantity(gold: str) -> bool:
    """A gold that is only numbers with their units, multipliers and qualifiers (``120k``, ``7 km``, ``1990s``);
    a number hyphenated to a word is a name (``7-Eleven``, ``F-16``)."""
    if re.search(r"[^\W\d_][-/]\d|\d[-/][^\W\d_]", unicodedata.normalize("NFKC", gold)):
        return False
    text = _fold(gold)
    if not _QUANTITY.search(text):
        return False
    rest = re.sub("|".join(_APPROX.values()), " ", _QUANTITY.sub(" ", text))
    return all(w in STOP_WORDS for w in re.findall(r"[^\W_]+", rest))


def _numbers_verdict(gold: str, pred: str) -> str | None:
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
    text = _fold(text)
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


def _dates_verdict(gold_dates: list, pred: str) -> str | None:
    pred_dates = parse_dates(pred)
    if all(any(all(g is None or g == p for g, p in zip(gold, d)) for d in pred_dates) for gold in gold_dates):
        return MATCH
    years = [Quantity(Decimal(y), Decimal(1), year=True) for y, _, _ in gold_dates if y is not None]
    vague = [q for q in quantities(pred) if q.kind != "point"]  # "the 1770s" for July 4, 1776
    return VAGUE if years and vague and all(_quantity_verdict(y, vague) for y in years) else None


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
        return _dates_verdict(gold_dates, pred)
    if _is_quantity(gold):
        return _numbers_verdict(gold, pred)
    return MATCH if _text_match(gold, pred, question) else None


def _negated(gold: str, pred: str) -> bool:
    """The gold right after a negation in the same clause ("not Paris", "rather than Paris", "不是北京"), once
    hedges are gone ("I am not sure, maybe Paris" negates nothing); the gold's own commas are no clause break."""
    target = normalize(gold).split()
    text = " | ".join(normalize(clause) for clause in _CLAUSE_BREAK.split(strip_abstentions(_undot(pred))))
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
    units = [[u for u in _units(_parts(i)) if u[0] not in STOP_WORDS] for i in items]
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
