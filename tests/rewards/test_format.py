"""METHOD 3.1: the format rule, table-driven and property-based; answer/reasoning extraction."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowrl.rewards import completion_text, extract_answer, extract_reasoning, format_reward, is_well_formed

TAGS = ("<think>", "</think>", "<answer>", "</answer>")

FORMAT_TABLE = [
    ("<think>r</think><answer>a</answer>", 1.0),              # minimal well-formed
    ("<think>\nr\n</think>\n\n<answer>\na\n</answer>\n", 1.0),  # newlines and trailing whitespace
    ("r</think><answer>a</answer>", 1.0),                     # <think> opened by the template: prepended
    ("\n <think>r</think><answer>a</answer>", 1.0),           # leading whitespace ignored
    ("<think>r</think> text <answer>a</answer>", -1.0),       # prose between </think> and <answer>
    ("<think>r</think><answer>a</answer> more", -1.0),        # text after </answer>
    ("<think> </think><answer>a</answer>", -1.0),             # empty reasoning
    ("<think>r</think><answer> \n</answer>", -1.0),           # empty answer
    ("<think>r <think>s</think><answer>a</answer>", -1.0),    # nested <think>
    ("<think>r</think><answer>a <answer>b</answer>", -1.0),   # nested <answer>
    ("<think>r<answer>x</answer></think><answer>a</answer>", -1.0),  # answer tags inside reasoning
    ("<think>r</think><answer>a</answer><answer>b</answer>", -1.0),  # two answers
    ("<think>r</think>", -1.0),                               # no answer
    ("<answer>a</answer>", -1.0),                             # prepended <think> has no </think>
    ("", -1.0),                                               # empty completion
    ("<think>r</think><answer>a", -1.0),                      # truncated answer
]


@pytest.mark.parametrize("text, expected", FORMAT_TABLE)
def test_format_table(text, expected):
    assert format_reward([text]) == [expected]


def test_conversational_completions():
    msgs = [[{"role": "assistant", "content": "<think>r</think><answer>a</answer>"}],
            [{"role": "assistant", "content": "no tags"}]]
    assert format_reward(msgs) == [1.0, -1.0]
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "x"}]}]) == "x"


EXTRACT_TABLE = [
    ("<think>r</think><answer> Paris </answer>", "Paris", "r"),         # plain
    ("r</think><answer>Paris</answer>", "Paris", "r"),                  # template-opened think
    ("<think>r</think><answer>A</answer><answer>B</answer>", "A", "r"),  # first answer wins
    ("<think>r</think><answer>  </answer>", None, "r"),                 # blank answer -> None
    ("just text", None, "just text"),                                  # no tags: whole text is the reasoning
]


@pytest.mark.parametrize("text, answer, reasoning", EXTRACT_TABLE)
def test_extract(text, answer, reasoning):
    assert extract_answer(text) == answer
    assert extract_reasoning(text) == reasoning


tagless = st.text(alphabet=st.characters(blacklist_characters="<>"), min_size=0, max_size=40)
nonblank = tagless.filter(lambda s: s.strip() != "")
ws = st.text(alphabet=" \n\t", max_size=4)


@settings(max_examples=200, deadline=None)
@given(reasoning=nonblank, answer=nonblank, gap=ws, tail=ws, lead=ws, opened=st.booleans())
def test_property_well_formed(reasoning, answer, gap, tail, lead, opened):
    text = f"{lead}{'<think>' if opened else ''}{reasoning}</think>{gap}<answer>{answer}</answer>{tail}"
    assert is_well_formed(text)
    assert extract_answer(text) == answer.strip()


@settings(max_examples=200, deadline=None)
@given(reasoning=nonblank, answer=nonblank, junk=nonblank.filter(lambda s: s.strip() != ""))
def test_property_text_after_answer_fails(reasoning, answer, junk):
    assert not is_well_formed(f"<think>{reasoning}</think><answer>{answer}</answer>{junk}")


@settings(max_examples=200, deadline=None)
@given(reasoning=nonblank, answer=nonblank, tag=st.sampled_from(TAGS), where=st.sampled_from(["r", "a"]))
def test_property_nested_tags_fail(reasoning, answer, tag, where):
    r = reasoning + tag if where == "r" else reasoning
    a = answer + tag if where == "a" else answer
    assert not is_well_formed(f"<think>{r}</think><answer>{a}</answer>")


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=80))
def test_property_total_and_binary(text):
    assert format_reward([text]) in ([1.0], [-1.0])
    assert is_well_formed(text) == is_well_formed("<think>" + text.lstrip()) or text.lstrip().startswith("<think>")
