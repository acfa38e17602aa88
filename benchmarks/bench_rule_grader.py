"""Benchmark: agreement of the rule grader with the adversarial table, per failure class.

The table is the one the tests hold (``tests/judge/test_rule_grader.py``: class, gold, prediction, expected grade
under SimpleQA's rules, optional question). Arms, graded in the same run on the same table:
  rule      the project's rule grader (``knowrl.judge.rule_grader.rule_grade``, with the question where given);
  previous  the rule grader as it was at ``--baseline-rev`` (default: the commit before issue 10), loaded from git;
  naive     a substring matcher: the normalised gold inside the normalised answer is CORRECT, an answer with
            "don't know" / "not sure" / "cannot" is NOT_ATTEMPTED, anything else INCORRECT.
A second, held-out workload checks the same arms away from the table: every gold of the KnowRL RL data (3,177 real
golds: names, dates, numbers, seasons, titles) in fixed answer templates whose grade is known by construction (the
gold alone, in a sentence, after and before a hedge, two abstentions, the gold or another question's gold, the gold
negated, another question's gold alone; pairs that share a word are skipped).
One JSON record: cases and agreement per class (and per template) and arm, the totals, the table cases each arm gets
wrong, and each arm's time to grade the table (median of ``--repeats`` passes, the rule grader's text cache cleared
before each pass).

    python benchmarks/bench_rule_grader.py [--baseline-rev f59ad87] [--rl-data FILE] [--out FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

from knowrl.artifact import provenance
from knowrl.files import write_json_atomic
from knowrl.judge.answer_text import fold_text
from knowrl.judge.rule_grader import rule_grade
from knowrl.judge.types import Grade

REPO = Path(__file__).resolve().parents[1]
TABLE = REPO / "tests/judge/test_rule_grader.py"
BASELINE_REV = "f59ad87"  # the last commit before issue 10 ("Honest core") changed the grader
C, I, N = Grade.CORRECT, Grade.INCORRECT, Grade.NOT_ATTEMPTED
TEMPLATES = (  # name, answer built from the gold g and another question's gold o, grade by construction
    ("gold", "{g}", C), ("sentence", "The answer is {g}.", C), ("hedge-before", "I'm not sure, maybe {g}", C),
    ("hedge-after", "{g}, but I could be wrong.", C), ("abstain", "I don't know.", N),
    ("hedged-abstain", "I'm not sure, I can't say.", N), ("two-guesses", "{g} or {o}", I),
    ("negated", "It is not {g}.", I), ("other-gold", "{o}", I),
)


def load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def previous_grader(rev: str) -> tuple[Callable | None, str]:
    """``rule_grade`` of the grader at ``rev`` (gold, prediction), or None and why it could not be loaded."""
    try:
        source = subprocess.run(["git", "show", f"{rev}:src/knowrl/judge/rule_grader.py"], cwd=REPO, check=True,
                                capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"git show {rev} failed: {exc}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "previous_rule_grader.py"
        path.write_text(source, encoding="utf-8")
        module = load_module("previous_rule_grader", path)
    return (lambda gold, prediction, question: module.rule_grade(gold, prediction)[0]), rev


def naive_grade(gold: str, prediction: str, question: str | None) -> Grade:
    """The baseline a first attempt writes: substring match after lower-casing and dropping punctuation."""
    def norm(text: str) -> str:
        return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())

    if norm(gold) and f" {norm(gold)} " in f" {norm(prediction)} ":
        return Grade.CORRECT
    if not prediction.strip() or re.search(r"don'?t know|not sure|cannot|can't", prediction, re.I):
        return Grade.NOT_ATTEMPTED
    return Grade.INCORRECT


class Row(NamedTuple):
    """A graded answer of either workload (the table's ``Case`` has the same fields)."""

    cls: str
    gold: str
    prediction: str
    expected: Grade
    question: str | None = None


def rl_rows(path: Path, seed: int) -> list[Row]:
    """Every RL gold in every template; ``o`` is another question's gold sharing no word with it."""
    records = json.loads(path.read_text(encoding="utf-8"))
    golds = [(r["question"].strip(), r["answers"].strip()) for r in records]
    rng = random.Random(seed)
    rows = []
    for question, gold in golds:
        other = other_gold(gold, [g for _, g in golds], rng)
        rows += [Row(name, gold, text.format(g=gold, o=other), grade, question) for name, text, grade in TEMPLATES]
    return rows


def other_gold(gold: str, golds: list[str], rng: random.Random, tries: int = 1000) -> str:
    """A random gold sharing no word with ``gold``, so that answering it is wrong by construction."""
    words = set(re.findall(r"\w+", gold.casefold()))
    for _ in range(tries):
        other = rng.choice(golds)
        if not words & set(re.findall(r"\w+", other.casefold())):
            return other
    raise SystemExit(f"no gold without a word of {gold!r} in {tries} draws")


def agreement(cases: list, grade: Callable) -> dict:
    """Cases and agreed cases per class, the total, and the cases this arm gets wrong."""
    by_class: dict[str, dict[str, int]] = {}
    wrong = []
    for case in cases:
        got = grade(case.gold, case.prediction, case.question)
        row = by_class.setdefault(case.cls, {"cases": 0, "agreed": 0})
        row["cases"] += 1
        row["agreed"] += got == case.expected
        if got != case.expected:
            wrong.append({"class": case.cls, "gold": case.gold, "prediction": case.prediction,
                          "expected": case.expected.value, "got": got.value})
    agreed = sum(r["agreed"] for r in by_class.values())
    return {"agreed": agreed, "cases": len(cases), "rate": round(agreed / len(cases), 4), "by_class": by_class,
            "wrong": wrong}


def held_out(path: Path, seed: int, arms: dict[str, Callable | None]) -> dict:
    """Agreement per template and arm on the RL golds (no per-case list: it is long)."""
    rows = rl_rows(path, seed)
    results = {name: agreement(rows, grade) for name, grade in arms.items() if grade}
    return {"source": path.name, "golds": len(rows) // len(TEMPLATES), "cases": len(rows), "seed": seed,
            "per_template": {name: {"cases": results["rule"]["by_class"][name]["cases"]}
                             | {arm: r["by_class"][name]["agreed"] for arm, r in results.items()}
                             for name, _, _ in TEMPLATES},
            "total": {arm: {k: r[k] for k in ("agreed", "cases", "rate")} for arm, r in results.items()},
            "rule_wrong_sample": results["rule"]["wrong"][:20]}


def timed(cases: list, grade: Callable, repeats: int) -> float:
    """Median seconds to grade the table once, each pass from a cold text cache."""
    passes = []
    for _ in range(repeats):
        fold_text.cache_clear()
        began = time.perf_counter()
        for case in cases:
            grade(case.gold, case.prediction, case.question)
        passes.append(time.perf_counter() - began)
    return round(statistics.median(passes), 4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline-rev", default=BASELINE_REV, help="git revision of the previous grader")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per arm (median reported)")
    parser.add_argument("--rl-data", default=str(REPO.parent / "shared/data/knowrl/knowrl_RLdata.json"),
                        help="RL data for the held-out templates ('' to skip)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "rule_grader.json"), help="also write the record to this JSON file")
    args = parser.parse_args(argv)

    cases = load_module("rule_grader_table", TABLE).CASES
    arms: dict[str, Callable | None] = {"rule": lambda g, p, q: rule_grade(g, p, q)[0]}
    arms["previous"], baseline = previous_grader(args.baseline_rev)
    arms["naive"] = naive_grade
    results = {name: agreement(cases, grade) if grade else None for name, grade in arms.items()}
    seconds = {name: timed(cases, grade, args.repeats) for name, grade in arms.items() if grade}
    classes = list(dict.fromkeys(c.cls for c in cases))
    record = {
        "benchmark": "rule_grader_agreement",
        "table": str(TABLE.relative_to(REPO)), "cases": len(cases), "baseline": baseline,
        "per_class": {cls: {"cases": results["rule"]["by_class"][cls]["cases"]}
                      | {name: r["by_class"][cls]["agreed"] for name, r in results.items() if r} for cls in classes},
        "total": {name: {k: r[k] for k in ("agreed", "cases", "rate")} for name, r in results.items() if r},
        "wrong": {name: r["wrong"] for name, r in results.items() if r},
        "held_out": held_out(Path(args.rl_data), args.seed, arms) if args.rl_data else None,
        "seconds_total": seconds,
        "ms_per_case": {name: round(1000 * t / len(cases), 4) for name, t in seconds.items()},
        "provenance": provenance(repeats=args.repeats),
    }
    if args.out:
        write_json_atomic(args.out, record)
    json.dump(record, sys.stdout, ensure_ascii=False, indent=1)
    print()
    return 0 if results["rule"]["agreed"] == len(cases) else 1


if __name__ == "__main__":
    sys.exit(main())
