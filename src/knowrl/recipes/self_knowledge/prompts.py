"""Versioned prompts of the recipe: introspection (the policy writes a new task for an intended label and reason)
and self-analysis (the policy classifies a task as feasible or infeasible, as JSON).

Introspection is a plain-text few-shot continuation, not a chat turn: the prompt lists pool tasks as
``Label / Reason / Task`` blocks and ends with the intended label and reason of the new task, so even a small
model continues with one task line, and the intended labels are balanced by construction.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from knowrl.recipes.self_knowledge.consensus import ANALYSIS_PREFIX
from knowrl.recipes.self_knowledge.tasks import CATEGORIES, LABELS, Task

PROMPT_VERSION = "selfknow-v1"
INTROSPECTION_HEADER = ("Tasks that a text-only AI assistant without tools or internet access can do (feasible) "
                        "or cannot do (infeasible), with the kind of task or the reason it cannot be done.\n\n")
ANALYSIS_SYSTEM = "You are a text-only assistant: no tools, internet, memory of the user or body."
ANALYSIS_USER = ('Can you do this task yourself? Reply in JSON: {{"task_class": "feasible" or "infeasible", '
                 '"answer": short or null, "reason": short}}.\nTask: {task}')


def introspection_block(label: str, category: str, task: str | None = None) -> str:
    head = f"Label: {label}\nReason: {category}\nTask:"
    return f"{head} {task}\n\n" if task is not None else head


def introspection_prompt(examples: Sequence[Task], label: str, category: str) -> str:
    """Few-shot prompt: ``examples`` as blocks, then the open block of the wanted label and category."""
    body = "".join(introspection_block(t.label, t.category, t.task) for t in examples)
    return INTROSPECTION_HEADER + body + introspection_block(label, category)


def parse_introspection(text: str, max_chars: int = 300) -> tuple[str | None, str | None]:
    """(task, None) or (None, reason): the generated task is the first line, stripped; empty, over-long or a line
    that starts another block (``Label:``) is rejected with its reason."""
    line = text.split("\n", 1)[0].strip()
    if not line:
        return None, "empty"
    if len(line) > max_chars:
        return None, "too_long"
    if line.lower().startswith(("label:", "reason:", "task:")):
        return None, "not_a_task"
    return line, None


def intended_slots(n: int, rng: random.Random) -> list[tuple[str, str]]:
    """``n`` (label, category) slots: labels alternate (balanced), categories cycle through each label's list
    from a random start, so every reason of the taxonomy is asked for."""
    offsets = {label: rng.randrange(len(CATEGORIES[label])) for label in LABELS}
    slots = []
    for i in range(n):
        label = LABELS[i % 2]
        cats = CATEGORIES[label]
        slots.append((label, cats[(offsets[label] + i // 2) % len(cats)]))
    return slots


def analysis_prompt(tokenizer: Any, task: str) -> str:
    """The self-analysis prompt as text: the chat template's user turn, the assistant turn opened with the JSON
    prefix (prefilled), so the completion starts at the label."""
    messages = [{"role": "system", "content": ANALYSIS_SYSTEM},
                {"role": "user", "content": ANALYSIS_USER.format(task=task)}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return rendered + ANALYSIS_PREFIX
