"""Before / after: how each held-out answer's grade moved from one model to another (``knowrl eval examples``).

The report opens with this: the grade transition counts (e.g. SFT INCORRECT -> KnowRL NOT_ATTEMPTED: a guess it
now declines) and a few examples of each kind that matters, drawn in a seeded order - a question it now declines,
one it still answers, and, so nothing is hidden, one it answered before and no longer does.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from knowrl.errors import InputError
from knowrl.files import read_jsonl

GRADES = ("CORRECT", "INCORRECT", "NOT_ATTEMPTED")
SHOWN = (  # (title, before grade, after grades)
    ("Now declines (was a wrong answer)", "INCORRECT", ("NOT_ATTEMPTED",)),
    ("Still answers (correct before and after)", "CORRECT", ("CORRECT",)),
    ("No longer answers correctly", "CORRECT", ("INCORRECT", "NOT_ATTEMPTED")),
)


def main_records(run_dir: str | Path) -> dict[str, dict]:
    """The main-pass records of one run folder (``items.jsonl``), by item id."""
    path = Path(run_dir) / "items.jsonl"
    if not path.is_file():
        raise InputError(f"no items.jsonl in {run_dir}")
    return {r["id"]: r for r in read_jsonl(path) if r.get("mode", "main") == "main"}


def transitions(before: dict[str, dict], after: dict[str, dict]) -> Counter:
    """``(grade before, grade after)`` counts over the items both runs graded."""
    return Counter((before[i].get("grade"), after[i].get("grade")) for i in before if i in after)


def render_examples(before: dict[str, dict], after: dict[str, dict], names: tuple[str, str], k: int = 2,
                    seed: int = 0) -> str:
    """Markdown: the transition table, then up to ``k`` examples of each kind in SHOWN."""
    counts = transitions(before, after)
    if not counts:
        raise InputError("the two runs share no graded items")
    a, b = names
    lines = [f"### {a} -> {b} on the same {sum(counts.values())} held-out questions", "",
             f"| {a} \\\\ {b} | " + " | ".join(GRADES) + " |", "|---|" + "---|" * len(GRADES)]
    for g in GRADES:
        lines.append(f"| {g} | " + " | ".join(str(counts[(g, h)]) for h in GRADES) + " |")
    rng = random.Random(seed)
    for title, was, now in SHOWN:
        ids = sorted(i for i in before if i in after and before[i].get("grade") == was and after[i].get("grade") in now)
        lines += ["", f"#### {title}: {len(ids)}"]
        for i in rng.sample(ids, min(k, len(ids))):
            meta = before[i].get("meta") or {}
            group = f" ({meta['group']} to the base model)" if meta.get("group") else ""
            lines += ["", f"- **Q:** {before[i]['question']}{group} - gold: {before[i]['gold']}",
                      f"  - {a}: {_short(before[i].get('answer'))} -> {was}",
                      f"  - {b}: {_short(after[i].get('answer'))} -> {after[i].get('grade')}"]
    return "\n".join(lines) + "\n"


def _short(text: str | None, limit: int = 120) -> str:
    text = " ".join((text or "").split()) or "(no answer)"
    return text if len(text) <= limit else text[:limit] + " ..."
