"""ROUGE-L de-duplication: the pure LCS against hand-computed values and against rouge-score itself."""

from __future__ import annotations

import pytest

from knowrl.recipes.self_knowledge.dedup import Deduplicator, lcs_length, rouge_l_f1, tokens

LCS_CASES = [
    ("a b c d", "a c d", 3),        # subsequence, not substring
    ("a b c", "c b a", 1),          # reversed: one token in order
    ("a b", "", 0),                 # empty side
    ("x y z", "a b c", 0),          # nothing shared
    ("a a a", "a a", 2),            # repeats
]


@pytest.mark.parametrize(("a", "b", "expected"), LCS_CASES)
def test_lcs(a, b, expected):
    assert lcs_length(a.split(), b.split()) == expected
    assert lcs_length(b.split(), a.split()) == expected  # symmetric


PAIRS = [
    ("What is the capital of France?", "What is the capital city of France?"),
    ("Water my plants, please.", "Please water the plants in my garden."),
    ("Translate good morning into Spanish", "What is 17 multiplied by 23?"),
    ("Write a haiku about autumn leaves.", "Write a haiku about autumn leaves!"),
]


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_matches_rouge_score(a, b):
    """Same F1 as the rouge-score package (no stemmer), the reference implementation."""
    from rouge_score import rouge_scorer

    expected = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False).score(a, b)["rougeL"].fmeasure
    assert rouge_l_f1(tokens(a), tokens(b)) == pytest.approx(expected)


def test_hand_computed_f1():
    # "what is the capital of france" (6) vs "what is the capital city of france" (7): LCS 6 -> P 1, R 6/7
    assert rouge_l_f1(tokens("What is the capital of France?"), tokens("What is the capital city of France?")) \
        == pytest.approx(2 * 1 * (6 / 7) / (1 + 6 / 7))
    assert rouge_l_f1((), ("a",)) == 0.0


def test_deduplicator_threshold_and_growth():
    dedup = Deduplicator(0.7, ["What is the capital of France?"])
    assert dedup.is_duplicate("What is the capital city of France?")      # F1 0.92
    assert not dedup.is_duplicate("Who painted the Mona Lisa?")
    score, match = dedup.check("what is the capital of france")            # case and punctuation ignored
    assert (score, match) == (1.0, "What is the capital of France?")
    dedup.add("Who painted the Mona Lisa?")
    assert dedup.is_duplicate("Who painted the Mona Lisa")                 # later additions count too
    assert Deduplicator(0.7).check("anything") == (0.0, None)              # empty pool
