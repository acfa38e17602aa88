"""Extrinsic evaluation on a labelled task set: the policy classifies each task greedily, the label is read from
the prefilled ``task_class`` field (the text up to its closing quote must be exactly ``feasible`` or
``infeasible``; anything else is unparseable, counted, and scored wrong)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from knowrl.recipes.self_knowledge.generation import sample
from knowrl.recipes.self_knowledge.metrics import classification_figures
from knowrl.recipes.self_knowledge.prompts import analysis_prompt
from knowrl.recipes.self_knowledge.tasks import LABELS, Task


def read_label(completion: str) -> str | None:
    """The ``task_class`` value the completion starts with (``'infeasible", ...'`` -> ``infeasible``)."""
    value = completion.split('"', 1)[0].strip()
    return value if value in LABELS else None


def classify(model: Any, tokenizer: Any, tasks: Sequence[Task], max_new_tokens: int = 8,
             batch_size: int = 16) -> list[dict]:
    """Per task: ``{id, label, category, predicted, raw}`` (greedy; ``predicted`` None = unparseable)."""
    texts = [analysis_prompt(tokenizer, t.task) for t in tasks]
    outputs = sample(model, tokenizer, texts, n=1, max_new_tokens=max_new_tokens, temperature=0.0, stops=['"'],
                     batch_size=batch_size, desc="classify")
    return [{"id": t.id, "label": t.label, "category": t.category, "predicted": read_label(out.text),
             "raw": out.text} for t, (out,) in zip(tasks, outputs)]


def evaluate(model: Any, tokenizer: Any, tasks: Sequence[Task], eval_settings: dict, batch_size: int = 16,
             seed: int = 0) -> tuple[dict, list[dict]]:
    """(figures with bootstrap CIs, per-item records) of ``model`` on ``tasks``."""
    items = classify(model, tokenizer, tasks, eval_settings["max_new_tokens"], batch_size)
    figures = classification_figures([i["label"] for i in items], [i["predicted"] for i in items],
                                     samples=eval_settings["bootstrap_samples"], seed=seed)
    return figures, items
