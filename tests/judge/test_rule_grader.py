"""The deterministic ``rule`` grader on a table of (gold, prediction, expected grade) cases."""

from __future__ import annotations

import pytest

from knowrl.judge.rule_facts import lexical_support, split_facts
from knowrl.judge.rule_grader import is_refusal, keyword_prefilter, normalize, parse_dates, rule_grade
from knowrl.judge.types import Grade

C, I, N = Grade.CORRECT, Grade.INCORRECT, Grade.NOT_ATTEMPTED

CASES = [
    # -- names and plain text --
    ("Paris", "Paris", C),  # exact
    ("Paris", "paris.", C),  # case and punctuation
    ("Paris", "The capital is Paris, on the Seine.", C),  # extra context is fine
    ("Paris", "London", I),  # different answer
    ("The Beatles", "Beatles", C),  # article dropped
    ("Barack Obama", "barak obama", C),  # small misspelling of a name
    ("Barack Obama", "Obama, Barack", C),  # word order
    ("George Washington", "Denzel Washington", I),  # same surname, other person
    ("George Washington", "Washington", I),  # essential part missing
    ("Gabriel García Márquez", "Gabriel Garcia Marquez", C),  # accents folded
    ("Zürich", "Zurich", C),
    ("United States", "the U.S.", I),  # abbreviations are not expanded
    ("USA", "the U.S.A.", C),  # dotted abbreviation
    ("Rock & Roll", "rock and roll", C),  # ampersand
    ("Pacific Ocean", "the Pacific", I),  # incomplete
    ("Mount Everest", "Everest", I),  # incomplete name (strict, like SimpleQA's 'essential part')
    ("Jupiter", "It's Jupiter, the largest planet.", C),
    ("Mars", "It's not Mars, it's Venus.", I),  # negated gold
    ("Mars", "Mars or Venus", I),  # several candidates
    ("Mars", "either Venus or Mars", I),
    ("Leonardo da Vinci", "Leonardo da Vinci painted it", C),
    ("apples", "apple", C),  # plural
    ("Tokyo | Edo", "Edo", C),  # alias
    ("Tokyo; Edo", "It was called Edo", C),
    ("New York City", "New York", I),
    ("Charles Dickens", "Dickens, Charles John Huffam", C),
    # -- hedges --
    ("Paris", "I think it's Paris, but I'm not sure.", C),  # hedged correct
    ("Paris", "Maybe Lyon?", I),  # hedged wrong
    ("Paris", "I'm not sure, perhaps Lyon.", I),  # hedged wrong: INCORRECT, not a refusal
    ("1945", "probably 1944", I),
    ("1945", "I believe it was 1945.", C),
    # -- refusals --
    ("Paris", "I don't know.", N),
    ("Paris", "I do not know the answer.", N),
    ("Paris", "I cannot answer that question.", N),
    ("Paris", "As an AI, I cannot browse the internet.", N),
    ("Paris", "I need more context to answer.", N),
    ("Paris", "There is insufficient information to tell.", N),
    ("Paris", "I can't help due to ethical concerns.", N),
    ("Paris", "Unknown", N),
    ("Paris", "", N),  # empty answer
    ("Paris", "   ", N),
    ("Paris", "It depends on the period.", N),
    ("Paris", "No idea, sorry", N),
    ("Paris", "I\u2019m not sure.", N),  # curly apostrophe
    # -- numbers --
    ("42", "42", C),
    ("42", "The answer is 42.", C),
    ("42", "43", I),
    ("42", "forty", I),
    ("three", "3", C),  # number word gold
    ("3", "three", C),  # number word prediction
    ("3", "3 or 4", I),
    ("3", "between 3 and 5", I),  # a range is not a value
    ("1,234", "1234", C),  # thousands separator
    ("3.14", "3.14159", C),  # more precise than the gold: rounds to the gold's precision
    ("3.14159", "3.14", I),  # less precise than the gold
    ("2.5", "2.50", C),
    ("2.5", "2.6", I),
    ("120k", "124,000", C),  # SimpleQA: rounds to 120k
    ("120k", "115k", C),
    ("120k", "113,000", I),
    ("120,000", "about 124 thousand", C),
    ("2 million", "2.4 million", C),
    ("2 million", "2.6 million", I),
    ("100", "149", I),  # small integers are exact
    ("7 km", "7 kilometres", C),  # units are not compared
    ("Apollo 11", "Apollo 11", C),
    ("Apollo 11", "Apollo 13", I),
    ("Apollo 11", "Gemini 11", I),
    ("5%", "5 percent", C),
    # -- dates --
    ("1990", "1990", C),  # a year is exact, never rounded
    ("1990", "1994", I),
    ("1776", "July 4, 1776", C),
    ("July 4, 1776", "4th of July 1776", C),
    ("July 4, 1776", "1776-07-04", C),
    ("July 4, 1776", "July 1776", I),  # day missing
    ("July 4, 1776", "July 5, 1776", I),
    ("July 4, 1776", "1776", I),
    ("March 1999", "in March of 1999", I),  # 'March of 1999' is not a date form we parse
    ("March 1999", "March 1999", C),
    ("March 1999", "Mar. 1999", C),
    ("March 1999", "April 1999", I),
    ("12 May 2001", "May 12th, 2001", C),
    ("12 May 2001", "Sept 12, 2001", I),
]


@pytest.mark.parametrize("gold,prediction,expected", CASES, ids=[f"{g}|{p}"[:50] for g, p, _ in CASES])
def test_rule_grade_table(gold, prediction, expected):
    grade, reason = rule_grade(gold, prediction)
    assert grade == expected, reason


def test_table_is_large_enough():
    assert len(CASES) >= 60


@pytest.mark.parametrize("answer,june,default", [
    ("I cannot answer this.", True, True),
    ("I am unable to provide that.", True, True),
    ("As an AI language model, I cannot know.", True, True),
    ("More information is needed; I need more context.", True, True),
    ("insufficient data", True, True),
    ("I won't, for ethical reasons.", True, True),
    ("", True, True),  # empty
    ("I don't know.", False, True),  # the policy's refusal: a judge decides in the June variant
    ("Paris", False, False),
])
def test_is_refusal_variants(answer, june, default):
    assert is_refusal(answer, "june") is june
    assert is_refusal(answer) is default


@pytest.mark.parametrize("gold,answer,passes", [
    ("Paris", "It is Paris", True),
    ("Paris", "It is Lyon", False),
    ("The Who", "the band who", True),  # 'who' is a stop word, 'the' too: no keywords left -> passes
    ("1945", "nineteen forty-five", True),  # digits skip the filter
    ("Leo Tolstoy", "tolstoy wrote it", True),
])
def test_keyword_prefilter(gold, answer, passes):
    assert keyword_prefilter(gold, answer) is passes


def test_normalize():
    assert normalize("The U.S.A.!") == "usa"
    assert normalize("Café  Déjà-vu") == "cafe deja vu"


def test_parse_dates():
    assert parse_dates("born on 4 July 1776 and died 2001-09-11") == [(2001, 9, 11), (1776, 7, 4)]


def test_split_facts():
    text = ("Okay, so I need to find who wrote Hamlet. I remember that Hamlet was written by William Shakespeare, "
            "and it is set in Denmark. Wait, is that right? Dr. J. R. R. Tolkien wrote The Hobbit; he was born "
            "in 1892. Hamlet was written by William Shakespeare.")
    facts, non_factual = split_facts(text)
    assert not non_factual
    assert facts == ["Hamlet was written by William Shakespeare.", "It is set in Denmark.",
                     "Dr. J. R. R. Tolkien wrote The Hobbit.", "He was born in 1892."]


@pytest.mark.parametrize("text", ["", "What is the capital of France?", "Let me think. Hmm."])
def test_split_facts_non_factual(text):
    assert split_facts(text) == ([], True)


def test_lexical_support():
    passages = ["Paris is the capital and largest city of France.", "Berlin is in Germany."]
    assert lexical_support("Paris is the capital of France.", passages)
    assert not lexical_support("Paris is the capital of Germany and Spain.", passages)
    assert not lexical_support("The the.", passages)
