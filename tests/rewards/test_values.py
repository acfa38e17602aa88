"""METHOD 3.2-3.4 reward tables per variant: pure values, then the same cases through the scorer."""

from __future__ import annotations

import math

import pytest

from knowrl.rewards.values import RewardValues, combined_value, fact_score, length_penalty, total_value
from tests.rewards.conftest import FakeJudge, completion, make_scorer

E = math.exp


@pytest.mark.parametrize("n, expected", [
    (0, 0.0),              # no facts: no score
    (1, E(1 - 10 / 1)),    # one fact: exp(-9)
    (2, E(1 - 10 / 2)),    # exp(-4)
    (5, E(1 - 10 / 5)),    # exp(-1)
    (10, 1.0),             # n = gamma: exp(0) = 1
    (11, 1.0),             # n > gamma: no penalty
])
def test_length_penalty(n, expected):
    assert length_penalty(n, 10) == pytest.approx(expected)


@pytest.mark.parametrize("variant, supported, n, expected", [
    ("code", 5, 10, 0.5),                  # ratio, penalty 1 at n = 10
    ("code", 1, 1, E(-9)),                 # one supported fact is nearly worthless
    ("code", 4, 5, 0.8 * E(-1)),           # short reasoning penalised
    ("code", 11, 11, 1.0),                 # long, all supported
    ("code", 0, 0, 0.0),                   # no facts / NON_FACTUAL
    ("paper", 1, 1, 1.0),                  # paper: ratio only
    ("paper", 3, 4, 0.75),
    ("june", 3, 4, 3 / 15),                # june: supported / 15
    ("june", 20, 25, 1.0),                 # capped at 1
])
def test_fact_score(variant, supported, n, expected):
    assert fact_score(supported, n, RewardValues(variant)) == pytest.approx(expected)


# (variant, r_format, r_correct, refusal, r_fact, expected total)
TOTAL_TABLE = [
    ("code", 1, 2, False, None, 3.0),      # well-formed & correct = 3 (fact not needed)
    ("code", 1, 1, True, None, 2.0),       # well-formed & "I don't know" = 2
    ("code", 1, -1, False, 0.4, 0.4),      # well-formed & wrong = r_fact
    ("code", -1, -1, False, 0.3, -1.7),    # no answer = -2 + r_fact
    ("code", -1, 2, False, None, 1.0),     # malformed but correct
    ("code", 1, -1, True, 0.9, 0.0),       # abstain_value = -1 ablation: refusal gets no fact bonus
    ("code", 1, None, False, None, None),  # judge failed: unscored, never 0
    ("code", 1, -1, False, None, None),    # wrong, fact failed: unscored
    ("paper", 1, 2, False, 0.5, 3.5),      # paper: sum of all three
    ("paper", 1, 1, True, 0.2, 2.2),       # refusal + fact
    ("paper", -1, -1, False, 0.0, -2.0),   # no answer, no facts
    ("paper", 1, 2, False, None, None),    # fact failed: unscored
    ("june", 1, 2, False, None, 3.0),      # correct
    ("june", 1, -1, True, None, 0.0),      # refusal = -1, no fact bonus
    ("june", 1, -1, False, 0.2, 0.2),      # wrong: -1 + r_fact
]


@pytest.mark.parametrize("variant, fmt, correct, refusal, fact, expected", TOTAL_TABLE)
def test_total_table(variant, fmt, correct, refusal, fact, expected):
    got = total_value(fmt, correct, refusal, fact, RewardValues(variant))
    assert got == (None if expected is None else pytest.approx(expected))


def test_combined_wrong_without_fact_is_none():
    assert combined_value(-1.0, False, None, RewardValues()) is None


QUESTION = {"question": ["Capital of France?"], "answers": ["Paris"], "title": ["Paris"]}

# (variant, completion, expected components (format, correct, fact, total)); FakeJudge: Paris CORRECT, Lyon INCORRECT
SCORER_TABLE = [
    ("code", completion("facts:9/10", "Paris"), (1, 2, None, 3)),              # correct = 3, no fact work
    ("code", completion("facts:9/10", "I don't know."), (1, 1, None, 2)),      # plain refusal = 2 (no judge)
    ("code", completion("facts:5/10", "Lyon"), (1, -1, 0.5, 0.5)),             # wrong = r_fact
    ("code", "<think>facts:11/11</think> no answer", (-1, -1, 1.0, -1.0)),      # no answer = -2 + r_fact
    ("code", completion("facts:fail", "Lyon"), (1, -1, None, None)),           # decomposition failed: None
    ("code", completion("facts:5/10/1", "Lyon"), (1, -1, None, None)),        # one of 10 facts unchecked: None
    ("code", completion("facts:5/10/1", "Paris"), (1, 2, None, 3)),            # ... but not needed when correct
    ("code", completion("facts:11/12", "Lyon"), (1, -1, 11 / 12, 11 / 12)),    # n > 10: no length penalty
    ("paper", completion("facts:1/2", "Paris"), (1, 2, 0.5, 3.5)),             # paper scores facts always
    ("paper", completion("facts:0/0", "I don't know."), (1, 1, 0.0, 2.0)),     # refusal + no facts
    ("june", completion("facts:3/4", "Lyon"), (1, -1, 0.2, 0.2)),              # keyword miss -> -1 + 3/15
    ("june", completion("facts:3/4", "I cannot answer without more context"), (1, -1, None, 0.0)),  # refusal
    ("june", completion("facts:3/4", "I don't know."), (1, -1, None, 0.0)),    # refusal -1 in june
    ("june", completion("facts:3/4", "Paris"), (1, 2, None, 3.0)),             # correct
]


@pytest.mark.parametrize("variant, text, expected", SCORER_TABLE)
def test_scorer_table(variant, text, expected, fake_judge):
    scorer = make_scorer(variant, judge=fake_judge)
    [outcome] = scorer.score(None, [text], **QUESTION)
    c = outcome.components
    got = (c["format"], c["correct"], c["fact"], c["total"])
    assert got == tuple(None if e is None else pytest.approx(e) for e in expected)
    funcs = scorer.reward_functions()
    values = [f(prompts=None, completions=[text], **QUESTION)[0] for f in funcs]  # as TRL calls them
    if c["total"] is None:  # TRL masks a row only when every function returns None (it nansums the rest)
        assert values == [None] * len(funcs)
    else:
        assert None not in values and sum(values) == pytest.approx(c["total"])


@pytest.mark.parametrize("policy, expected_fact", [
    ("unscored", None),      # default: a fact that could not be checked makes r_fact None (counted, reason kept)
    ("unsupported", 0.4),    # counted as unsupported: 4 supported of all 10 facts (n = 10: penalty exp(0) = 1)
])
def test_failed_fact_policy(policy, expected_fact, fake_judge):
    scorer = make_scorer("paper", judge=fake_judge, failed_fact=policy)
    [o] = scorer.score(None, [completion("facts:4/10/2", "Lyon")], **QUESTION)
    if expected_fact is None:
        assert o.components["fact"] is None and o.components["total"] is None
        assert o.none_reasons == ["fact: facts_failed: 2 of 10 facts (verify_error x2)"]
        assert [f(prompts=None, completions=[completion("facts:4/10/2", "Lyon")], **QUESTION)[0]
                for f in scorer.reward_functions()] == [None, None, None]
    else:
        assert o.components["fact"] == pytest.approx(expected_fact)
        assert o.components["total"] == pytest.approx(1 - 1 + expected_fact)


def test_abstain_value_setting():
    scorer = make_scorer("code", judge=FakeJudge(), abstain_value=-1.0)
    [o] = scorer.score(None, [completion("facts:10/10", "I don't know.")], **QUESTION)
    assert o.components["total"] == 0.0 and o.facts is None   # -1 refusal, no fact bonus, no fact work


def test_score_facts_for_all(fake_judge):
    scorer = make_scorer("code", judge=fake_judge, score_facts_for_all=True)
    [o] = scorer.score(None, [completion("facts:10/10", "Paris")], **QUESTION)
    assert o.components["fact"] == 1.0 and o.components["total"] == 3.0   # computed, reward unchanged
