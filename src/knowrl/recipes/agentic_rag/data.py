"""Question data for agentic retrieval RL: three public layouts read into ``{id, question, answers: [str]}``.

- Knowledge-R1's 2WikiMultihopQA: ``{"problem", "golden_answers": [...]}`` (JSON array or JSONL);
- Search-R1 / FlashRAG: parquet or JSONL rows with ``prompt`` (chat messages whose user turn ends with
  ``Question: ...``) and ``reward_model.ground_truth.target``, or ``{"question", "golden_answers"}``;
- the project's own ``{"question", "answers"}`` JSON (answers a string or a list).

The layout is recognised per row; a row that fits none, or has no question or no non-blank answer, is skipped and
counted by reason (``LoadReport``); a file with no usable row is an error.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowrl.errors import InputError
from knowrl.files import read_json, read_jsonl

log = logging.getLogger(__name__)
_QUESTION_TAIL = re.compile(r"Question:\s*(.+?)\s*$", re.DOTALL)


@dataclass
class LoadReport:
    path: str
    kept: int = 0
    skipped: Counter = field(default_factory=Counter)
    layouts: Counter = field(default_factory=Counter)


def _rows(path: Path) -> Iterable[Any]:
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path).to_pylist()
        if path.suffix == ".jsonl":
            return list(read_jsonl(path))
        data = read_json(path)
    except (ValueError, json.JSONDecodeError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise InputError(f"{path}: cannot read ({exc})") from None
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON array of question records")
    return data


def _search_r1_question(prompt: Any) -> str | None:
    """The question inside a Search-R1 prompt (its user turn ends with ``Question: ...``)."""
    messages = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
    user = [m.get("content") or "" for m in messages if isinstance(m, dict) and m.get("role", "user") == "user"]
    if not user:
        return None
    match = _QUESTION_TAIL.search(user[-1])
    return (match.group(1) if match else user[-1]).strip()


def parse_row(row: Any) -> tuple[str, str | None, Any]:
    """(layout, question, answers) of one row; layout ``unknown`` when no known field set is present."""
    if not isinstance(row, dict):
        return "unknown", None, None
    if "problem" in row and "golden_answers" in row:
        return "knowledge_r1", row["problem"], row["golden_answers"]
    if "reward_model" in row and "prompt" in row:
        target = ((row.get("reward_model") or {}).get("ground_truth") or {}).get("target")
        question = row.get("question") or _search_r1_question(row["prompt"])
        return "search_r1", question, target
    if "question" in row and "golden_answers" in row:
        return "flashrag", row["question"], row["golden_answers"]
    if "question" in row and "answers" in row:
        return "knowrl", row["question"], row["answers"]
    return "unknown", None, None


def _answers(value: Any) -> list[str]:
    if hasattr(value, "tolist"):  # numpy arrays from parquet
        value = value.tolist()
    items = value if isinstance(value, (list, tuple)) else [value]
    return [str(a).strip() for a in items if a is not None and str(a).strip()]


def load_questions(path: str | Path, max_samples: int | None = None) -> tuple[list[dict], LoadReport]:
    """Rows of any supported layout as ``{id, question, answers}``, and what was kept and skipped."""
    path = Path(path)
    report, records = LoadReport(str(path)), []
    for index, row in enumerate(_rows(path)):
        layout, question, answers = parse_row(row)
        answers = _answers(answers) if layout != "unknown" else []
        reason = ("unknown_layout" if layout == "unknown" else "no_question" if not str(question or "").strip()
                  else "no_answer" if not answers else None)
        if reason:
            report.skipped[reason] += 1
            continue
        report.layouts[layout] += 1
        rid = row.get("id", (row.get("extra_info") or {}).get("index"))
        records.append({"id": str(rid if rid is not None else index), "question": str(question).strip(),
                        "answers": answers})
        if max_samples and len(records) >= max_samples:
            break
    report.kept = len(records)
    if not records:
        raise InputError(f"{path}: no usable question records (skipped: {dict(report.skipped) or 'none'})")
    return records, report


def rag_dataset(records: list[dict], tokenizer: Any = None, max_prompt_length: int | None = None,
                retrieval: bool = True):
    """A ``datasets.Dataset`` for GRPO: conversational ``prompt`` (the protocol's instruction) + ``question`` +
    ``answers`` (a list: the reward takes the max over them); over-long prompts dropped and counted."""
    from datasets import Dataset

    from knowrl.recipes.agentic_rag.protocol import prompt_messages

    rows, dropped = [], 0
    for record in records:
        prompt = prompt_messages(record["question"], retrieval)
        if tokenizer is not None and max_prompt_length:
            text = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
            if len(tokenizer(text, add_special_tokens=False)["input_ids"]) > max_prompt_length:
                dropped += 1
                continue
        rows.append({"prompt": prompt, "question": record["question"], "answers": list(record["answers"])})
    if not rows:
        raise InputError(f"every prompt is longer than max_prompt_length={max_prompt_length}")
    if dropped:
        log.warning("dropped %d of %d prompts longer than %s tokens", dropped, len(records), max_prompt_length)
    return Dataset.from_list(rows)
