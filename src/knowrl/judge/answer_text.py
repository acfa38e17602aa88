"""Answer text for the rule grader: folding (case, accents, width, dotted initials, number words), word parts that
keep digits inside tokens whole (H2O, F-16) and CJK characters apart, and the text match of a gold against an answer
(phrase, then word by word with name typos forgiven, acronyms, words the question already names)."""

from __future__ import annotations

import difflib
import re
import unicodedata
from functools import lru_cache

from knowrl.judge.refusal import CJK

ARTICLES = {"a", "an", "the"}
STOP_WORDS = frozenset("""a an the of in on at to for and or is are was were be been being by with from as that this
these those it its his her their he she they them which who whom what when where why how not no but into than then
there do does did has have had""".split())

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


def undot(text: str) -> str:
    """Dotted initials as one word: "U.S.A." -> "USA", "T.J." -> "TJ"."""
    return re.sub(r"\b(?:[A-Za-z]\.){2,}", lambda m: m.group().replace(".", ""), text)


@lru_cache(maxsize=4096)
def fold_text(text: str) -> str:
    """Accents, width, case, dotted abbreviations, possessives and apostrophes folded; number words as digits."""
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = undot(unicodedata.normalize("NFC", text))
    text = text.casefold().replace("&", " and ").replace("\u2019", "'")
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", re.sub(r"(?<=\w)'s\b", "", text)).replace("'", "")
    return _NUMBER_WORD.sub(_number_word, text)


def word_parts(text: str) -> list[tuple[str, bool]]:
    """Words split at letter/digit boundaries and CJK characters, each with ``glued``: joined to the next part by
    nothing or a hyphen, slash or dot (``H2O``, ``F-16``, ``3.14``), never across a space or around CJK."""
    parts: list[tuple[str, bool]] = []
    for m in _TOKEN.finditer(fold_text(text)):
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
    return " ".join(p for p, _ in word_parts(text))


def _find(needle: list[str], hay: list[tuple[str, bool]]) -> bool:
    """``needle`` occurs in ``hay`` as consecutive parts, not glued to a part on either side (H2O not in H2O2)."""
    words, n = [p for p, _ in hay], len(needle)
    return n > 0 and any(words[i:i + n] == needle and not (i and hay[i - 1][1]) and not hay[i + n - 1][1]
                         for i in range(len(hay) - n + 1))


def gold_units(parts: list[tuple[str, bool]]) -> list[list[str]]:
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
        return {w.lower() for w in re.findall(r"\b[A-Z]{2,6}\b", undot(text))}

    def initials(text: str) -> list[str]:
        words = [w for w in normalize(text).split() if w not in STOP_WORDS]
        return ["".join(w[0] for w in words[i:j]) for i in range(len(words)) for j in range(i + 2, len(words) + 1)]

    gold_words = normalize(gold).split()
    if len(gold_words) == 1 and gold_words[0] in capitals(gold):
        return gold_words[0] in initials(pred)
    content = [w for w in gold_words if w not in STOP_WORDS]
    return len(content) > 1 and "".join(w[0] for w in content) in capitals(pred)


def text_match(gold: str, pred: str, question: str | None) -> bool:
    gold_parts, pred_parts = word_parts(gold), word_parts(pred)
    if _find([p for p, _ in gold_parts], pred_parts) or _acronym_match(gold, pred):
        return True
    units = [u for u in gold_units(gold_parts) if not all(p in STOP_WORDS for p in u)] or gold_units(gold_parts)
    if question:
        asked = word_parts(question)
        units = [u for u in units if not _find(u, asked)] or units
    if len(units) > 1 and _find_squashed("".join(p for u in units for p in u), pred_parts):
        return True
    pred_words = {"".join(u) for u in gold_units(pred_parts) if "".join(u).isalpha()}
    singular = {w.rstrip("s") for w in pred_words}
    exact = [_find(u, pred_parts) or (len(u) == 1 and u[0].rstrip("s") in singular) for u in units]
    # a typo is forgiven in a name whose other words are right, or in one long word (Tschaikowsky), never in a
    # short lone word, where it is usually another name (Porter for Potter)
    return bool(units) and all(
        ok or (len(u) == 1 and u[0].isalpha() and not re.match(CJK, u[0]) and (any(exact) or len(u[0]) >= 8)
               and _close_spelling(u[0], pred_words)) for u, ok in zip(units, exact))
