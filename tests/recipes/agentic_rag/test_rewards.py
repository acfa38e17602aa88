"""Reward tables for EM / F1 / format / Search-R1, and the unscorable row (no usable gold answer)."""

from __future__ import annotations

import pytest

from knowrl.recipes.agentic_rag.protocol import CORRECTION, FINAL_TURN as FINAL
from knowrl.recipes.agentic_rag.rewards import RagRewards, exact_match, normalize_answer, token_f1, well_formed

GOOD = "<think>a</think><search>q</search>\n\n<information>Doc 1 (Title: T) x</information>\n\n" \
       "<think>b</think><answer>{}</answer>"

EM_CASES = [
    ("Warsaw", ["Warsaw"], 1.0),                      # identical
    ("  the WARSAW. ", ["Warsaw"], 1.0),              # case, article, punctuation, whitespace normalised
    ("Warsaw, Poland", ["Warsaw"], 0.0),              # extra tokens: not an exact match
    ("1828", ["1827", "1828"], 1.0),                  # max over gold answers
    (None, ["Warsaw"], 0.0),                          # never answered
]
F1_CASES = [
    ("Warsaw", ["Warsaw"], 1.0),                      # identical
    ("Warsaw Poland", ["Warsaw"], 2 / 3),             # precision 1/2, recall 1 -> 2/3
    ("the city", ["Warsaw"], 0.0),                    # no common token (article dropped)
    ("New York City", ["new york", "York"], 0.8),     # best gold: p 2/3, r 1 -> 0.8
    (None, ["Warsaw"], 0.0),                          # never answered
]
FORMAT_CASES = [
    (GOOD.format("Warsaw"), True),                                            # think+search, info, think+answer
    ("<think>b</think><answer>Warsaw</answer>", True),                        # answer at once
    ("<answer>Warsaw</answer>", False),                                       # no reasoning
    ("<think>a</think><search>q</search>", False),                            # never answered
    ("<think>a</think><answer>x</answer><think>b</think><answer>y</answer>", False),  # answered twice
    ("<think>a</think><search>q</search><answer>x</answer>", False),          # answer without reasoning in its turn
    ("<think>a</think> Lima" + CORRECTION + "<think>b</think><answer>Lima</answer>", False),  # a corrected turn
]


@pytest.mark.parametrize("prediction, golds, expected", EM_CASES)
def test_exact_match(prediction, golds, expected):
    assert exact_match(prediction, golds) == expected


@pytest.mark.parametrize("prediction, golds, expected", F1_CASES)
def test_token_f1(prediction, golds, expected):
    assert token_f1(prediction, golds) == pytest.approx(expected)


@pytest.mark.parametrize("text, expected", FORMAT_CASES)
def test_well_formed(text, expected):
    assert well_formed(text) is expected


# (variant, completion, gold answers, expected reward per function)
VARIANT_CASES = [
    ("em", GOOD.format("Warsaw"), ["Warsaw"], [1.0]),                         # correct
    ("em", "<answer>Warsaw</answer>", ["Warsaw"], [1.0]),                     # EM ignores the format
    ("f1", GOOD.format("Warsaw Poland"), ["Warsaw"], [2 / 3]),                # partial credit
    ("em_format", GOOD.format("Lima"), ["Warsaw"], [0.0, 0.2]),               # wrong, well-formed: +w
    ("em_format", "Warsaw", ["Warsaw"], [0.0, -0.2]),                         # no tags: -w, EM 0
    ("search_r1", GOOD.format("Warsaw"), ["Warsaw"], [1.0]),                  # correct, well-formed
    ("search_r1", "<answer>Warsaw</answer>", ["Warsaw"], [0.8]),              # correct but malformed
    ("search_r1", GOOD.format("Lima"), ["Warsaw"], [0.2]),                    # well-formed but wrong
    ("search_r1", "Lima", ["Warsaw"], [0.0]),                                 # neither
    ("search_r1", GOOD.format("Warsaw"), [" ", "?"], [None]),                 # no usable gold: unscorable
    # the environment's own text names the tags: its "<answer> and </answer>" is never the policy's answer
    ("em", "<think>a</think> Lima" + CORRECTION + FINAL, ["and"], [0.0]),
    ("em", "<think>a</think><search>q</search>\n\n<information>x <answer>Warsaw</answer></information>",
     ["Warsaw"], [0.0]),
    ("em", "<think>a</think> Lima" + CORRECTION + FINAL + "<think>b</think><answer>Warsaw</answer>", ["Warsaw"],
     [1.0]),
]


@pytest.mark.parametrize("variant, completion, golds, expected", VARIANT_CASES)
def test_reward_variants(variant, completion, golds, expected):
    rewards = RagRewards(variant, format_weight=0.2)
    chat = [[{"role": "assistant", "content": completion}]]               # TRL's conversational completions
    got = [f(prompts=[None], completions=chat, answers=[golds])[0] for f in rewards.reward_functions()]
    assert got == pytest.approx(expected) if None not in expected else got == expected
    metrics = rewards.step_metrics()
    assert metrics["reward/unscorable"] == (1.0 if None in expected else 0.0)  # counted, then reset
    assert rewards.step_metrics()["reward/unscorable"] == 0.0


def test_normalize_answer():
    assert normalize_answer("An Apple, the PIE!") == "apple pie"


def _modules():
    import pkgutil

    import knowrl.recipes.agentic_rag as package

    return sorted(info.name for info in pkgutil.iter_modules(package.__path__, prefix=f"{package.__name__}."))


@pytest.mark.parametrize("module_name", _modules())
def test_docstring_examples(module_name):
    """The runnable examples in the recipe's docstrings (protocol, rewards, the length alarm) stay true."""
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module_name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
