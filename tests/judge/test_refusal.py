"""The one refusal definition, and the three places that must agree on it: the rule grader's NOT_ATTEMPTED, the
reward's June rule stage and the training alarm's refusal rate (``policy_metrics``)."""

from __future__ import annotations

import pytest

from knowrl.judge.refusal import candidate_words, is_june_refusal, is_plain_refusal, is_refusal
from knowrl.judge.rule_grader import rule_grade
from knowrl.judge.types import Grade
from knowrl.train.grpo import policy_metrics

ABSENT_GOLD = "Tegucigalpa"  # appears in no answer below, so a NOT_ATTEMPTED can only mean a refusal

ANSWERS = [
    ("I don't know.", True),                                              # the prompt's abstention
    ("I do not know the answer.", True),                                  # long form
    ("I'm not sure, I can't say", True),                                  # two hedges, no candidate
    ("Honestly, I have no idea.", True),                                  # no idea
    ("I'm not certain and would rather not guess.", True),                # declines to guess
    ("Sorry, I cannot answer that without more context.", True),          # needs context
    ("As an AI language model, I don't have access to that information.", True),  # as an AI
    ("I don't have enough information to determine the answer.", True),  # not enough information
    ("It's hard to say.", True),                                          # evasion
    ("Unknown.", True),                                                   # one word
    ("?", True),                                                          # nothing at all
    ("我不知道。", True),                                                  # Chinese: I don't know
    ("我不确定，无法回答。", True),                                          # Chinese: unsure, cannot answer
    ("抱歉，没有足够的信息。", True),                                        # Chinese: sorry, not enough information
    ("Not sure, maybe Lyon", False),                                      # a hedged guess is an answer
    ("I don't know, maybe Lyon", False),                                  # refusal wording, then a guess
    ("I can't say if it's Lyon", False),                                  # a guess inside refusal wording
    ("Lyon, but I'm not sure", False),                                    # guess, then a hedge
    ("Probably Lyon.", False),                                            # hedged guess
    ("Lyon", False),                                                      # plain answer
    ("1945", False),                                                      # a number is an answer
    ("No", False),                                                        # a yes/no answer is a claim
    ("The Unknown Soldier", False),                                       # 'unknown' inside a name
    ("不确定，可能是上海", False),                                           # Chinese: unsure, maybe Shanghai
]


@pytest.mark.parametrize("answer,refusal", ANSWERS)
def test_is_refusal(answer, refusal):
    assert is_refusal(answer) is refusal


@pytest.mark.parametrize("answer,refusal", ANSWERS)
def test_grader_and_alarm_agree(answer, refusal):
    """The rule grader grades the answer NOT_ATTEMPTED exactly when the alarm counts it as a refusal."""
    grade, reason = rule_grade(ABSENT_GOLD, answer)
    rate = policy_metrics([f"<think>Let me think.</think><answer>{answer}</answer>"])["policy/refusal_rate"]
    assert (grade == Grade.NOT_ATTEMPTED) is refusal, reason
    assert rate == (1.0 if refusal else 0.0)


def test_alarm_rate_over_a_batch():
    completions = [f"<think>r</think><answer>{a}</answer>" for a, _ in ANSWERS]
    completions.append("<think>r</think> no answer tags")  # a format failure, not a refusal (METHOD 3.2)
    metrics = policy_metrics(completions)
    assert metrics["policy/refusal_rate"] == sum(r for _, r in ANSWERS) / len(completions)
    assert metrics["policy/well_formed"] == len(ANSWERS) / len(completions)


@pytest.mark.parametrize("answer,june,default", [
    ("I cannot answer this.", True, True),                       # cannot answer
    ("I am unable to provide that.", True, True),                # unable to provide
    ("As an AI language model, I cannot know.", True, True),     # as an AI
    ("More information is needed; I need more context.", True, True),  # needs context
    ("insufficient data", True, True),                           # insufficient data
    ("I won't, for ethical reasons.", True, True),               # ethical reasons
    ("", True, True),                                            # empty
    ("I don't know.", False, True),    # the policy's own abstention: in the June variant a judge decides it
    ("I cannot be sure, but it is Lyon", True, False),  # June decides by pattern alone; the default sees a guess
    ("Paris", False, False),                                     # an answer
])
def test_june_and_default_definitions(answer, june, default):
    assert is_june_refusal(answer) is june
    assert is_refusal(answer) is default


@pytest.mark.parametrize("answer", ["I don't know.", "i do not know", "  I don’t know!  "])
def test_plain_refusal_is_a_refusal(answer):
    assert is_plain_refusal(answer) and is_refusal(answer)


@pytest.mark.parametrize("text,words", [
    ("I'm not sure, maybe Lyon", ["lyon"]),                      # hedge and filler go
    ("Sorry, I can't say.", []),                                 # nothing left
    ("It isn't Lyon", ["lyon"]),                                 # contraction expanded, 'not' is filler
    ("我不确定，可能是上海", ["上", "海"]),                          # Chinese characters are words
])
def test_candidate_words(text, words):
    assert candidate_words(text) == words
