"""Training data: RL questions -> prompt datasets, cold-start ShareGPT -> tokenized SFT examples, demo data.

RL data (METHOD 7): a JSON array of ``{question, answers, title}``; the dataset keeps those three columns for the
reward functions and adds ``prompt`` (conversational messages for the ``default`` prompt variant, the rendered text
with its ``<think>`` prefix for ``paper``). Cold-start data: ShareGPT ``conversations`` -> ``(question, trace)``,
tokenized with the model's own template so that only the assistant turn (and its end-of-turn token) carries loss.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from knowrl.errors import InputError
from knowrl.files import read_json, read_jsonl
from knowrl.prompts import PAPER_ASSISTANT_PREFIX, policy_messages, render_prompt

log = logging.getLogger(__name__)
RL_FIELDS = ("question", "answers", "title")


def _read_array(path: str | Path) -> list[Any]:
    path = Path(path)
    try:
        data = list(read_jsonl(path)) if path.suffix == ".jsonl" else read_json(path)
    except (ValueError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON array of records")
    return data


def load_rl_records(path: str | Path, max_samples: int | None = None) -> list[dict[str, str]]:
    """``{question, answers, title}`` records; unusable ones (no question or answer) are skipped and counted."""
    records, skipped = [], 0
    for item in _read_array(path):
        if not isinstance(item, dict) or not str(item.get("question") or "").strip() or item.get("answers") in (None, ""):
            skipped += 1
            continue
        answers = item["answers"]
        answers = "; ".join(map(str, answers)) if isinstance(answers, list) else str(answers)
        records.append({"question": str(item["question"]).strip(), "answers": answers,
                        "title": str(item.get("title") or "")})
        if max_samples and len(records) >= max_samples:
            break
    if skipped:
        log.warning("%s: skipped %d records without a question or answer", path, skipped)
    if not records:
        raise InputError(f"{path}: no usable {{question, answers, title}} records")
    return records


def rl_dataset(records: Sequence[dict], tokenizer: Any, variant: str = "default", max_prompt_length: int = 256):
    """A ``datasets.Dataset`` with ``prompt`` + question/answers/title; over-long prompts dropped and counted."""
    from datasets import Dataset

    rows, dropped = [], 0
    for record in records:
        text = render_prompt(tokenizer, record["question"], variant)
        if len(tokenizer(text, add_special_tokens=False)["input_ids"]) > max_prompt_length:
            dropped += 1
            continue
        prompt = text if variant == "paper" else policy_messages(record["question"], variant)
        rows.append({"prompt": prompt, **{key: record[key] for key in RL_FIELDS}})
    if dropped:
        log.warning("dropped %d of %d prompts longer than max_prompt_length=%d tokens",
                    dropped, len(records), max_prompt_length)
    if not rows:
        raise InputError(f"every prompt is longer than max_prompt_length={max_prompt_length}")
    return Dataset.from_list(rows)


def load_coldstart(path: str | Path, max_samples: int | None = None) -> list[dict[str, str]]:
    """ShareGPT records -> ``{id, question, trace}`` (first human turn, following gpt turn)."""
    pairs, skipped = [], 0
    for index, item in enumerate(_read_array(path)):
        turns = item.get("conversations") if isinstance(item, dict) else None
        human = next((t.get("value") for t in turns or [] if t.get("from") in ("human", "user")), None)
        gpt = next((t.get("value") for t in turns or [] if t.get("from") in ("gpt", "assistant")), None)
        if not (human and gpt and human.strip() and gpt.strip()):
            skipped += 1
            continue
        pairs.append({"id": str(item.get("id", index)), "question": human.strip(), "trace": gpt.strip()})
        if max_samples and len(pairs) >= max_samples:
            break
    if skipped:
        log.warning("%s: skipped %d records without a human and a gpt turn", path, skipped)
    if not pairs:
        raise InputError(f"{path}: no usable ShareGPT conversations")
    return pairs


def sft_messages(pair: dict, variant: str = "default") -> list[dict[str, str]]:
    """The conversation as chat messages: the policy prompt of ``variant`` + the assistant trace."""
    return policy_messages(pair["question"], variant) + [{"role": "assistant", "content": pair["trace"]}]


def tokenize_sft(pair: dict, tokenizer: Any, variant: str = "default") -> dict[str, list[int]]:
    """``input_ids`` + ``completion_mask``: prompt rendered by the native template, loss on the trace + EOS.

    If the rendered prompt already opens ``<think>`` (some templates and the paper variant do), the trace's own
    leading ``<think>`` is dropped so that the sequence matches what the policy sees at generation time.
    """
    prompt = render_prompt(tokenizer, pair["question"], variant)
    prompt_ids = tokenizer.apply_chat_template(policy_messages(pair["question"], variant), tokenize=True,
                                               add_generation_prompt=True, return_dict=True)["input_ids"]
    if variant == "paper":
        prompt_ids = prompt_ids + tokenizer(PAPER_ASSISTANT_PREFIX, add_special_tokens=False)["input_ids"]
    trace = pair["trace"]
    if prompt.rstrip().endswith("<think>"):
        trace = re.sub(r"^\s*<think>\s*", "", trace)
    completion_ids = tokenizer(trace + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
    return {"input_ids": list(prompt_ids) + completion_ids,
            "completion_mask": [0] * len(prompt_ids) + [1] * len(completion_ids)}


def sft_dataset(pairs: Sequence[dict], tokenizer: Any, variant: str = "default"):
    """Pre-tokenized SFT dataset (TRL builds labels from ``completion_mask`` and truncates to ``max_length``)."""
    from datasets import Dataset

    return Dataset.from_list([tokenize_sft(pair, tokenizer, variant) for pair in pairs])
