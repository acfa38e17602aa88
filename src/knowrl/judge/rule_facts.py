"""Rule-based atomic facts and lexical verification: the model-free ``rule`` backend's decompose and verify.

The splitter cuts reasoning into sentences (abbreviations protected), then into clauses at ``;`` and at a comma
before a coordinating conjunction; it strips discourse fillers ("Okay, so", "Wait,"), drops questions and
first-person planning ("let me check", "I need to"), then applies the METHOD 3.3 clean-up (>= 3 words, case-insensitive
de-duplication). Text with nothing declarative left is NON_FACTUAL.
"""

from __future__ import annotations

import re

from knowrl.judge.parsing import clean_facts
from knowrl.judge.rule_grader import STOP_WORDS, normalize

ABBREVIATIONS = ("Mr", "Mrs", "Ms", "Dr", "Prof", "Sr", "Jr", "St", "Mt", "vs", "etc", "e.g", "i.e", "U.S", "U.K",
                 "No", "Inc", "Ltd", "Co", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct",
                 "Nov", "Dec", "approx", "ca")
_PLACEHOLDER = "\x00"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CLAUSE_SPLIT = re.compile(r"\s*;\s*|,\s+(?=(?:and|but|while|whereas|although|so)\s)", re.I)
_FILLER = re.compile(r"^(?:(?:okay|ok|so|well|hmm+|wait|alright|now|also|actually|yes|no|right|oh|"
                     r"first|then|but|and|i think|i remember|i recall|i believe)\b[,:]?\s*(?:that\s+)?)+", re.I)
_META = re.compile(r"^(?:let me|let's|i need|i should|i will|i'll|i want|i'm trying|i am trying|i have to|"
                   r"we need|the question|this question|my answer|the answer is)\b", re.I)
_LEADING_CONJ = re.compile(r"^(?:and|but|while|whereas|although|so)\s+", re.I)


def _sentences(text: str) -> list[str]:
    protected = text
    for abbr in ABBREVIATIONS:
        protected = re.sub(rf"\b{re.escape(abbr)}\.", abbr.replace(".", _PLACEHOLDER) + _PLACEHOLDER, protected)
    protected = re.sub(r"\b([A-Z])\.(?=\s*[A-Z])", r"\1" + _PLACEHOLDER, protected)  # initials: J. R. R. Tolkien
    pieces = []
    for paragraph in re.split(r"\n\s*\n|\n(?=\s*[-*\d])", protected):
        pieces.extend(s.replace(_PLACEHOLDER, ".") for s in _SENTENCE_END.split(paragraph.strip()) if s.strip())
    return pieces


def _clean_clause(clause: str) -> str | None:
    clause = re.sub(r"^\s*(?:[-*\u2022]|\d+[.)])\s*", "", clause).strip()
    clause = _LEADING_CONJ.sub("", _FILLER.sub("", clause)).strip(" ,:")
    if not clause or clause.endswith("?") or _META.match(clause):
        return None
    clause = clause[0].upper() + clause[1:]
    return clause if clause[-1] in ".!" else clause + "."


def split_facts(text: str) -> tuple[list[str], bool]:
    """``(facts, non_factual)`` for a reasoning text; non_factual when no declarative clause survives."""
    facts = []
    for sentence in _sentences(text or ""):
        for clause in _CLAUSE_SPLIT.split(sentence):
            cleaned = _clean_clause(clause)
            if cleaned:
                facts.append(cleaned)
    facts = clean_facts(facts)
    return facts, not facts


def lexical_support(fact: str, passages: list[str], threshold: float = 0.8) -> bool:
    """Supported when one passage holds at least ``threshold`` of the fact's content words (a cheap baseline)."""
    words = {w for w in normalize(fact).split() if w not in STOP_WORDS}
    if not words:
        return False
    for passage in passages:
        tokens = set(normalize(passage).split())
        if len(words & tokens) / len(words) >= threshold:
            return True
    return False
