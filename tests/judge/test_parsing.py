"""Strict parsing of judge replies: exactly one valid answer, everything else unparseable (METHOD 3.2, 9)."""

from __future__ import annotations

import json

import pytest

from knowrl.judge.parsing import lenient_grade, parse_facts, parse_grade, parse_verify
from knowrl.judge.types import Grade

C, I, N = Grade.CORRECT, Grade.INCORRECT, Grade.NOT_ATTEMPTED

GRADE_CASES = [
    ("A", C),  # the constrained letter
    ("B", I),
    ("C", N),
    ("  A\n", C),  # surrounding whitespace is not content
    ("a", None),  # lower-case: the article, not the letter
    ("b", None),
    ("D", None),  # not a grade letter
    ("The answer is a dog", None),  # upstream scored this CORRECT
    ("A dog", None),
    ("A.", None),  # trailing punctuation: not exactly one grade
    ("(A)", None),
    ("A or B", None),  # two grades
    ("A B", None),
    ("AB", None),
    ("CORRECT", C),  # the grade names, upper case
    ("INCORRECT", I),
    ("NOT_ATTEMPTED", N),
    ("NOT ATTEMPTED", N),
    ("correct", None),  # lower-case name
    ("Correct", None),
    ("CORRECT.", None),
    ("INCORRECT, because the gold answer is Paris", None),  # explanation appended
    ("The grade is CORRECT", None),
    ("Grade: A", None),
    ("NOT", None),
    ("NOT_ATTEMPTED NOT_ATTEMPTED", None),
    ("<think>the prediction matches</think>B", I),  # one complete reasoning block, then a grade
    ("<think>\nhmm\n</think>\n\nA", C),
    ("<think>unfinished reasoning A", None),  # unclosed think block
    ("<think>a</think><think>b</think>A", None),  # only one leading block is stripped
    ("A</think>", None),
    ('{"grade": "A"}', C),  # the JSON-schema form
    ('{"grade":"C"}', N),
    ('{"grade": "INCORRECT"}', I),
    ('  {"grade": "B"}  ', I),
    ('{"grade": "a"}', None),
    ('{"grade": "E"}', None),
    ('{"grade": ["A"]}', None),
    ('{"grade": null}', None),
    ('{"grade": "A", "reason": "matches"}', None),  # extra key
    ('{"Grade": "A"}', None),
    ('{"grade": "A"', None),  # truncated JSON
    ('["A"]', None),
    ('"A"', None),
    ("```json\n{\"grade\": \"A\"}\n```", None),  # fenced: not exactly the object
    ("", None),  # empty
    ("   \n", None),
    ("A" * 5000, None),  # very long
    ("A\n" + "filler " * 1000, None),
    ("\u0410", None),  # Cyrillic A
    ("Ａ", None),  # full-width A
]


@pytest.mark.parametrize("reply,expected", GRADE_CASES, ids=[repr(r[:30]) for r, _ in GRADE_CASES])
def test_parse_grade_table(reply, expected):
    grade, reason = parse_grade(reply)
    assert grade == expected
    if expected is None:
        assert reason and reason.startswith("unparseable")
    else:
        assert reason is None


def test_table_is_large_enough():
    assert len(GRADE_CASES) >= 40


def test_parse_grade_none_reply():
    assert parse_grade(None) == (None, "unparseable: empty reply")


def test_lenient_baseline_reproduces_the_upstream_bug():
    assert lenient_grade("The answer is a dog") == Grade.CORRECT  # the bug the strict parser removes
    assert parse_grade("The answer is a dog")[0] is None


FACT_CASES = [
    ("- Paris is the capital of France.\n- Paris is in Europe.", ["Paris is the capital of France.",
                                                                   "Paris is in Europe."], False),
    ("Here are the facts:\n- Paris is the capital of France.", ["Paris is the capital of France."], False),
    ("- Paris is big.\n- paris is big\n- Too short", ["Paris is big."], False),  # dedupe, < 3 words dropped
    ("NON_FACTUAL: only a question", [], True),
    ('{"non_factual": false, "facts": ["Rome is in Italy", "Rome is in Italy.", "Rome"]}',
     ["Rome is in Italy"], False),
    ('{"non_factual": true, "facts": []}', [], True),
    ('{"facts": "Rome is in Italy"}', None, False),  # not a list
    ('{"facts": [], "extra": 1}', None, False),
    ("Paris is the capital of France.", None, False),  # no bullet lines
    ("", None, False),
    ("<think>ok</think>- The sky is blue.", ["The sky is blue."], False),
]


@pytest.mark.parametrize("reply,facts,non_factual", FACT_CASES)
def test_parse_facts(reply, facts, non_factual):
    got, nf, reason = parse_facts(reply)
    assert got == facts and nf == non_factual
    assert (reason is None) == (facts is not None)


@pytest.mark.parametrize("reply,expected", [
    ("True", True), ("false", False), ("TRUE.", True), ('{"supported": true}', True),
    ('{"supported": "yes"}', None), ("True or False", None), ("", None), ("Maybe", None),
    ("<think>x</think>False", False), (json.dumps({"supported": False, "x": 1}), None),
])
def test_parse_verify(reply, expected):
    assert parse_verify(reply)[0] is expected
