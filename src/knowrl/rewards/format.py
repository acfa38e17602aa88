"""The format contract of METHOD 3.1 and the parsers built on it: pure functions, no I/O.

A completion is well-formed when, after ``<think>`` is prepended to a completion that does not open with it, it is
``<think>`` + non-empty reasoning + ``</think>`` + whitespace + ``<answer>`` + non-empty answer + ``</answer>`` +
trailing whitespace, with no nested ``<think>``/``<answer>`` tags inside either part. Leading whitespace is ignored
(a tokenizer often emits a newline before the first tag).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

FORMAT_RULE_VERSION = "format-v1"

_NO_TAG = r"(?:(?!</?(?:think|answer)>).)*"
FORMAT_RE = re.compile(rf"<think>(?P<reasoning>{_NO_TAG})</think>\s*<answer>(?P<answer>{_NO_TAG})</answer>\s*",
                       re.DOTALL)
ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
THINK_RE = re.compile(r"<think>(.*?)</think>", re.DOTALL)


def completion_text(completion: Any) -> str:
    """The text of one completion, plain (``str``) or conversational (a list of ``{"role", "content"}`` messages).

    >>> completion_text([{"role": "assistant", "content": "<answer>x</answer>"}])
    '<answer>x</answer>'
    """
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return _content(completion.get("content"))
    if isinstance(completion, Sequence):
        messages = [m for m in completion if isinstance(m, dict)]
        assistant = [m for m in messages if m.get("role", "assistant") == "assistant"] or messages
        return "".join(_content(m.get("content")) for m in assistant)
    return str(completion)


def _content(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal-style [{"type": "text", "text": ...}]
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


def with_think(text: str) -> str:
    """``text`` without leading whitespace, opened with ``<think>`` if it does not already start with it."""
    stripped = text.lstrip()
    return stripped if stripped.startswith("<think>") else "<think>" + stripped


def is_well_formed(text: str) -> bool:
    """True when ``text`` meets the format contract (METHOD 3.1).

    >>> is_well_formed("<think>2+2 is 4</think>\\n<answer>4</answer>")
    True
    >>> is_well_formed("2+2 is 4</think><answer>4</answer>")   # <think> is prepended
    True
    >>> is_well_formed("<think>x</think><answer>4</answer> more")
    False
    """
    match = FORMAT_RE.fullmatch(with_think(text))
    return bool(match and match["reasoning"].strip() and match["answer"].strip())


def extract_answer(text: str) -> str | None:
    """Content of the first ``<answer>…</answer>``, stripped; None when missing or blank.

    >>> extract_answer("<think>r</think><answer> Paris </answer>")
    'Paris'
    >>> extract_answer("<think>r</think><answer>  </answer>") is None
    True
    """
    match = ANSWER_RE.search(text or "")
    if not match or not match.group(1).strip():
        return None
    return match.group(1).strip()


def extract_reasoning(text: str) -> str:
    """Content of the first ``<think>…</think>`` (``<think>`` prepended if missing); the whole text if absent.

    >>> extract_reasoning("Paris is in France.</think><answer>Paris</answer>")
    'Paris is in France.'
    """
    match = THINK_RE.search(with_think(text or ""))
    return match.group(1).strip() if match else (text or "").strip()


def format_reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """METHOD 3.1: +1 for a well-formed completion, -1 otherwise (TRL reward function).

    >>> format_reward(["<think>Paris is the capital.</think><answer>Paris</answer>", "Paris"])
    [1.0, -1.0]
    """
    return [1.0 if is_well_formed(completion_text(c)) else -1.0 for c in completions]
