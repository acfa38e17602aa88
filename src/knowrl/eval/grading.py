"""Grading of per-item records (one per generated response) and their summary into figures with CIs.

A record is a plain dict (one JSONL line): ``id, kind, question, gold, meta, mode, sample, response``; grading adds
``answer, answer_source, scores`` (numeric columns for the figures) and, for judged kinds, ``grade`` and
``grade_reason``. Regrading a saved file re-runs exactly this on the stored responses.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from knowrl.eval import metrics

log = logging.getLogger(__name__)

GRADE_COLUMNS = {"CORRECT": "correct", "INCORRECT": "incorrect", "NOT_ATTEMPTED": "not_attempted"}


def _grade_value(grade: Any) -> str | None:
    return None if grade is None else str(getattr(grade, "value", grade)).upper()


def grade_qa(records: Sequence[dict], judge) -> None:
    """SimpleQA-style three grades from the judge; a record the judge cannot grade gets ``scores = None``."""
    from knowrl.judge import GradeItem

    batch = [GradeItem(question=r["question"], gold=r["gold"], prediction=r["answer"], id=r["id"]) for r in records]
    for record, result in zip(records, judge.grade(batch), strict=True):
        grade = _grade_value(result.grade)
        record["grade"], record["grade_reason"] = grade, result.reason
        if grade not in GRADE_COLUMNS:
            record["scores"] = None
            continue
        record["scores"] = {col: float(GRADE_COLUMNS[grade] == col) for col in GRADE_COLUMNS.values()}


def _grade_local(record: dict, add_no_comment: bool) -> dict[str, float]:
    kind, answer = record["kind"], record["answer"]
    if kind == "truthfulqa":
        meta = record["meta"]
        return metrics.truthfulqa_scores(answer, meta["correct_answers"], meta["incorrect_answers"], add_no_comment)
    if kind == "mcq":
        letter = metrics.extract_letter(answer, record["response"])
        record["parsed"] = letter
        return {"correct": float(letter == record["gold"]), "unparsed": float(letter is None)}
    if kind == "math":
        value = metrics.extract_integer(answer)
        record["parsed"] = value
        return {"correct": float(value is not None and value == int(record["gold"])),
                "unparsed": float(value is None)}
    raise ValueError(f"no local grader for kind {kind!r}")


def grade_records(records: Sequence[dict], judge=None, add_no_comment: bool = True) -> list[dict]:
    """Fill ``answer`` and ``scores`` of every record in place (judge needed only for kind ``qa``)."""
    for record in records:
        record["answer"], record["answer_source"] = metrics.response_answer(record["response"])
    judged = [r for r in records if r["kind"] == "qa"]
    if judged:
        if judge is None:
            raise ValueError("kind 'qa' needs a judge")
        grade_qa(judged, judge)
    for record in records:
        if record["kind"] != "qa":
            record["scores"] = _grade_local(record, add_no_comment)
    return list(records)


def item_columns(records: Sequence[dict]) -> tuple[dict[str, list[float]], int]:
    """Per-item score columns (a mean over an item's samples) and the number of ungraded records skipped."""
    per_item: dict[str, list[dict]] = defaultdict(list)
    ungraded = 0
    for record in records:
        if record.get("scores") is None:
            ungraded += 1
        else:
            per_item[record["id"]].append(record["scores"])
    columns: dict[str, list[float]] = defaultdict(list)
    for scores in per_item.values():
        for key in scores[0]:
            columns[key].append(sum(s[key] for s in scores) / len(scores))
    return dict(columns), ungraded


def summarize(records: Sequence[dict], samples: int = 1000, confidence: float = 0.95,
              seed: int = 0) -> dict[str, dict]:
    """``{mode: {"figures": {...}, "items", "responses", "ungraded", "answer_sources"}}`` per generation mode."""
    by_mode: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        by_mode[record["mode"]].append(record)
    summary = {}
    for mode, group in sorted(by_mode.items()):
        columns, ungraded = item_columns(group)
        kind = group[0]["kind"]
        n_items = len(next(iter(columns.values()))) if columns else 0
        if ungraded:
            log.warning("%s: %d of %d responses could not be graded; figures exclude them", mode, ungraded, len(group))
        sources: dict[str, int] = defaultdict(int)
        for record in group:
            sources[record.get("answer_source", "?")] += 1
        figures = metrics.figures_with_ci(kind, columns, samples, confidence, seed) if n_items else {}
        summary[mode] = {"kind": kind, "figures": figures, "items": n_items, "responses": len(group),
                         "ungraded": ungraded, "answer_sources": dict(sources),
                         "well_formed": round(sum(map(_well_formed, group)) / len(group), 4)}
        groups = group_summaries(group, kind, samples, confidence, seed)
        if groups:
            summary[mode]["groups"] = groups
    return summary


def _well_formed(record: dict) -> bool:
    """The response meets the training format (METHOD 3.1: <think>...</think><answer>...</answer>)."""
    from knowrl.rewards.format import is_well_formed

    return is_well_formed(record.get("response") or "")


def group_summaries(records: Sequence[dict], kind: str, samples: int, confidence: float,
                    seed: int) -> dict[str, dict]:
    """Figures per item group (``meta.group``, e.g. the demo's known / unknown questions), when items have one."""
    by_group: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        name = (record.get("meta") or {}).get("group")
        if name:
            by_group[str(name)].append(record)
    out = {}
    for name, members in sorted(by_group.items()):
        columns, _ = item_columns(members)
        n_items = len(next(iter(columns.values()))) if columns else 0
        if n_items:
            out[name] = {"items": n_items, "figures": metrics.figures_with_ci(kind, columns, samples, confidence, seed)}
    return out
