"""Passage splitting (METHOD 6): sentence boundaries, greedy packing to a token budget, windows."""

from __future__ import annotations

import pytest

from knowrl.kb.passages import PassageSplitter, split_paragraphs, split_sentences


@pytest.fixture(scope="module")
def tokenizer(embedder_path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(embedder_path))


@pytest.mark.parametrize("text, expected", [
    # plain boundaries on . ! ?
    ("It rained. Was it cold? Yes!", ["It rained.", "Was it cold?", "Yes!"]),
    # titles and initials are protected
    ("Dr. Smith met J. R. R. Tolkien. They talked.", ["Dr. Smith met J. R. R. Tolkien.", "They talked."]),
    # Latin abbreviations are protected
    ("Planets, e.g. Mars, are round. Stars etc. shine.", ["Planets, e.g. Mars, are round.", "Stars etc. shine."]),
    # no split without whitespace after the mark (decimals, URLs)
    ("Pi is 3.14 roughly. See example.com now.", ["Pi is 3.14 roughly.", "See example.com now."]),
    # a single sentence without a final mark
    ("no final stop", ["no final stop"]),
])
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_split_paragraphs_on_blank_lines():
    # blank lines (possibly with spaces) separate paragraphs; single newlines do not
    assert split_paragraphs("A.\nB.\n \nC.\n\n\n") == ["A.\nB.", "C."]


def test_packing_respects_budget_and_keeps_sentences_whole(tokenizer):
    sentences = [f"Sentence number {i} talks about topic {i}." for i in range(40)]
    splitter = PassageSplitter(tokenizer, 32)
    passages = splitter.split(" ".join(sentences))
    assert len(passages) > 1
    for passage in passages:
        assert len(tokenizer(passage, add_special_tokens=False)["input_ids"]) <= 32
        assert passage.endswith(".")                       # whole sentences only
    assert " ".join(passages) == " ".join(sentences)       # nothing lost or reordered


def test_greedy_packing_fills_passages(tokenizer):
    # two 10-token sentences fit a 20-token budget together, the third starts a new passage
    sentence = "alpha beta gamma delta epsilon zeta eta theta iota."
    n = len(tokenizer(sentence, add_special_tokens=False)["input_ids"])
    passages = PassageSplitter(tokenizer, 2 * n).split(" ".join([sentence] * 3))
    assert passages == [f"{sentence} {sentence}", sentence]


def test_paragraph_break_kept_inside_a_passage(tokenizer):
    assert PassageSplitter(tokenizer, 256).split("First para.\n\nSecond para.") == ["First para.\nSecond para."]


def test_overlong_sentence_is_windowed_verbatim(tokenizer):
    words = " ".join(f"word{i}" for i in range(300))
    text = f"Short intro. {words} end. Short outro."
    passages = PassageSplitter(tokenizer, 50).split(text)
    assert passages[0] == "Short intro."
    assert passages[-1] == "Short outro."
    windows = passages[1:-1]
    assert len(windows) >= 2
    assert all(len(tokenizer(w, add_special_tokens=False)["input_ids"]) <= 50 for w in windows)
    assert " ".join(windows) == f"{words} end."            # windows are verbatim, contiguous substrings


def test_blank_text_gives_no_passages(tokenizer):
    assert PassageSplitter(tokenizer, 256).split(" \n\n \t") == []
