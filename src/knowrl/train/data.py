"""Training data: RL questions -> prompt datasets, cold-start ShareGPT -> tokenized SFT examples, demo data.

RL data (METHOD 7): a JSON array of ``{question, answers, title}``; the dataset keeps those three columns for the
reward functions and adds ``prompt`` (conversational messages for the ``default`` prompt variant, the rendered text
with its ``<think>`` prefix for ``paper``). Cold-start data: ShareGPT ``conversations`` -> ``(question, trace)``,
tokenized with the model's own template so that only the assistant turn (and its end-of-turn token) carries loss.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from knowrl.errors import InputError
from knowrl.files import read_json, read_jsonl, write_json_atomic, write_jsonl_atomic
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


# -- demo data for CPU smoke runs -------------------------------------------------------------------------------
def _corpus_entries(path: str | Path) -> list[dict[str, str]]:
    """Demo corpus (dict title -> {extract, description}) or JSONL {title, text, description}."""
    path = Path(path)
    raw = list(read_jsonl(path)) if path.suffix == ".jsonl" else read_json(path)
    items = raw.values() if isinstance(raw, dict) else raw
    entries = []
    for item in items:
        text = item.get("extract") or item.get("text") or ""
        if isinstance(text, list):
            text = " ".join(text)
        if item.get("title") and item.get("description") and len(text) > 40:
            entries.append({"title": item["title"], "text": text, "description": item["description"]})
    return entries


def _first_sentence(text: str, limit: int = 220) -> str:
    sentence = re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0]
    return sentence if len(sentence) <= limit else sentence[:limit].rsplit(" ", 1)[0] + "."


def demo_question(entry: dict) -> str:
    description = entry["description"].strip().rstrip(".")
    return f"Which Wikipedia article is about the {description[0].lower() + description[1:]}?"


def make_demo(corpus: str | Path, out_dir: str | Path, n_sft: int = 64, n_rl: int = 64, seed: int = 42) -> dict:
    """Write ``coldstart.json`` (short ShareGPT traces), ``rl.json`` (questions) and ``corpus.jsonl`` (the articles
    used, to build a matching small KB) from a corpus; SFT and RL titles are disjoint.

    Each trace is one sentence of reasoning taken from the article's lead (so the KB supports it) and the title as
    the answer: ``<think>\\n…\\n</think>\\n<answer>\\n…\\n</answer>``, short enough for a tiny CPU model.
    """
    entries = _corpus_entries(corpus)
    random.Random(seed).shuffle(entries)
    if len(entries) < n_sft + n_rl:
        raise InputError(f"{corpus}: only {len(entries)} usable articles for {n_sft} + {n_rl} demo records")
    coldstart = [{"id": f"demo-{i}", "conversations": [
        {"from": "human", "value": demo_question(e)},
        {"from": "gpt", "value": f"<think>\n{_first_sentence(e['text'])}\n</think>\n<answer>\n{e['title']}\n</answer>"},
    ]} for i, e in enumerate(entries[:n_sft])]
    rl = [{"question": demo_question(e), "answers": e["title"], "title": e["title"]}
          for e in entries[n_sft:n_sft + n_rl]]
    out = Path(out_dir)
    write_json_atomic(out / "coldstart.json", coldstart)
    write_json_atomic(out / "rl.json", rl)
    write_jsonl_atomic(out / "corpus.jsonl", ({"title": e["title"], "text": e["text"]}
                                              for e in entries[:n_sft + n_rl]))
    return {"coldstart": str(out / "coldstart.json"), "rl": str(out / "rl.json"), "corpus": str(out / "corpus.jsonl"),
            "n_sft": len(coldstart), "n_rl": len(rl), "seed": seed}
