"""The Search-R1 tag protocol (RECIPES.md A): prompt, actions, observations and the notes the environment inserts.

The policy writes ``<think>…</think>`` then either ``<search>query</search>`` or ``<answer>…</answer>``; generation
stops at the first ``</search>`` or ``</answer>``. A search is answered with ``<information>Doc 1 (Title: t) text
… </information>``; an action without either tag gets a correction note; after the last allowed turn a note forces
the final answer. Pure functions, no I/O: the rollout (``rollout.py``) owns tokens, budgets and masks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

PROTOCOL_VERSION = "search-r1-tags-v1"
STOP_TAGS = ("</search>", "</answer>")
INSTRUCTION = (
    "Answer the given question. You must conduct reasoning inside <think> and </think> first every time you get "
    "new information. After reasoning, if you find you lack some knowledge, you can call a search engine by "
    "<search> query </search> and it will return the top searched results between <information> and "
    "</information>. You can search as many times as you want. If you find no further external knowledge needed, "
    "you can directly provide the answer inside <answer> and </answer>, without detailed illustrations. "
    "For example, <answer> Beijing </answer>. Question: {question}")
NO_RETRIEVAL_INSTRUCTION = (
    "Answer the given question. Reason inside <think> and </think>, then give the answer inside <answer> and "
    "</answer>, without detailed illustrations. For example, <answer> Beijing </answer>. Question: {question}")
CORRECTION = ("\nMy previous action is invalid. If I want to search, I should put the query between <search> and "
              "</search>. If I want to give the final answer, I should put the answer between <answer> and "
              "</answer>. Let me try again.\n")
FINAL_TURN = "\n<information>Now it is the final turn: no more searches. Give the answer now.</information>\n"
_TAG = re.compile(r"<(search|answer)>(.*?)</\1>", re.DOTALL)


@dataclass(frozen=True)
class Action:
    """What one model turn asked for: ``search`` (with its query), ``answer`` or ``invalid`` (no closed tag)."""

    kind: str
    content: str = ""


def prompt_messages(question: str, retrieval: bool = True) -> list[dict[str, str]]:
    """The user turn for ``question``: Search-R1's instruction, or the same without search (the baseline row).

    >>> prompt_messages("Who?")[0]["role"]
    'user'
    """
    template = INSTRUCTION if retrieval else NO_RETRIEVAL_INSTRUCTION
    return [{"role": "user", "content": template.format(question=question.strip())}]


def stop_end(text: str) -> int | None:
    """Character index just after the first ``</search>`` or ``</answer>`` in ``text`` (None: neither).

    >>> stop_end("<search>x</search> more")
    18
    """
    ends = [i + len(tag) for tag in STOP_TAGS if (i := text.find(tag)) >= 0]
    return min(ends) if ends else None


def parse_action(turn_text: str) -> Action:
    """The action of one model turn (already cut after its first stop tag): the last closed tag decides.

    >>> parse_action("<think>need it</think><search> capital of Peru </search>")
    Action(kind='search', content='capital of Peru')
    >>> parse_action("<think>hm</think> Lima").kind
    'invalid'
    """
    found = _TAG.findall(turn_text)
    if not found:
        return Action("invalid")
    kind, content = found[-1]
    if kind == "search" and not content.strip():
        return Action("invalid")
    return Action(kind, content.strip())


def format_passage(index: int, title: str, text: str) -> str:
    """One retrieved passage as Search-R1 shows it: ``Doc 1 (Title: Peru) Peru is …``."""
    return f"Doc {index} (Title: {title}) {' '.join(text.split())}"


def observation(passages: Sequence[tuple[str, str]]) -> tuple[str, str, str]:
    """(opening, body, closing) of the ``<information>`` block for ``(title, text)`` passages; the rollout cuts the
    body to the observation token cap and keeps the opening and closing whole."""
    body = "\n".join(format_passage(i, title, text) for i, (title, text) in enumerate(passages, 1))
    return "\n\n<information>", body or "No results.", "</information>\n\n"
