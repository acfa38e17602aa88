"""June-variant rule stages and the plain refusal shortcut (METHOD 3.2)."""

from __future__ import annotations

import pytest

from knowrl.rewards.rules import is_plain_refusal, june_keyword_miss, june_refusal


@pytest.mark.parametrize("answer, expected", [
    ("I cannot answer this question.", True),             # cannot answer
    ("I'm unable to determine that.", True),              # unable to
    ("As an AI, I cannot browse the web.", True),         # as an AI I cannot
    ("I need more information to answer.", True),         # need more information
    ("There is insufficient information.", True),         # insufficient information
    ("Due to ethical concerns I will not say.", True),    # ethical concerns
    ("", True),                                           # empty
    ("I don't know.", True),                              # explicit abstention
    ("Paris", False),                                     # a real answer
    ("The cannon was fired in 1812.", False),             # 'cannon' is not 'cannot'
])
def test_june_refusal(answer, expected):
    assert june_refusal(answer) is expected


@pytest.mark.parametrize("answer, gold, expected", [
    ("Berlin", "Paris", True),                 # no gold keyword in the answer
    ("It is paris.", "Paris", False),          # case-insensitive keyword hit
    ("Clive", "Clive Anderson", False),        # one keyword suffices
    ("the a of", "The Beatles", True),         # stop words and 1-letter tokens do not count
    ("Roger Daltrey", "The Who", False),       # gold of stop words only: no keywords -> judge decides
    ("1999", "in 1998", False),                # gold with a digit -> judge decides
    ("anything", "the", False),                # gold without keywords -> judge decides
])
def test_june_keyword_miss(answer, gold, expected):
    assert june_keyword_miss(answer, gold) is expected


@pytest.mark.parametrize("answer, expected", [
    ("I don't know.", True), ("i do not know", True), ("I don't know", True), ("  I don’t know!  ", True),
    ("I don't know, but maybe Paris", False), ("Paris", False), (None, False),
])
def test_plain_refusal(answer, expected):
    assert is_plain_refusal(answer) is expected
