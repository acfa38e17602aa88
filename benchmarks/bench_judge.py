"""Benchmark: one KnowRL optimizer step's grading (8 prompts x 10 completions) on one llama.cpp server.

Arms, measured in the same run on the same server (embedded SmolLM2-135M GGUF, fixed threads, one slot; the
two model arms are timed ``--repeats`` times, interleaved, and the median pass is reported):
  upstream  the upstream way: one blocking call per completion, the grading instructions in one user message
            asking for a single letter (A/B/C), the reply capped at the few tokens a letter needs, lenient parse
            (first CORRECT/A, then INCORRECT/B, else NOT_ATTEMPTED), no cache, no de-duplication;
  project   knowrl's judge client: identical items sent once, reply constrained by a JSON schema to one grade,
            strict parse, persistent cache (empty at the start);
  cached    the same step again through a new judge on the same cache file (what the next epoch sees);
  rule      the deterministic rule grader: the reference for the expected grades (no model).
Workload (seeded): 8 questions of the KnowRL RL data with short text golds; each gets 10 answers in a designed
mix, 4 right (the gold x3, "It is <gold>." x1), 4 wrong (two other questions' golds, x2 each) and 2 abstaining
("I don't know.", "I'm not sure."), so 32 CORRECT / 32 INCORRECT / 16 NOT_ATTEMPTED expected, 48 distinct items.
The rule grader must give every item its expected grade (the run stops otherwise). Each arm reports calls,
prompt and completion tokens, seconds, items/s, grade counts and agreement with the expected grades.

    python benchmarks/bench_judge.py [--n-threads 2] [--out benchmarks/results/judge.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

from knowrl.artifact import provenance
from knowrl.files import write_json_atomic
from knowrl.judge import Grade, GradeItem, get_judge
from knowrl.judge.agreement import agreement_report
from knowrl.judge.parsing import lenient_grade
from knowrl.judge.servers import ManagedServer, llamacpp_command
from knowrl.judge.tasks import TASKS

REPO = Path(__file__).resolve().parents[1]
UPSTREAM_MAX_TOKENS = 4  # a letter, plus room for a period or newline: what the one-letter prompt asks for
ABSTAIN = ("I don't know.", "I'm not sure.")
EXPECTED = {"right": Grade.CORRECT, "wrong": Grade.INCORRECT, "abstain": Grade.NOT_ATTEMPTED}


@dataclass(frozen=True)
class Case:
    """One grading item with the kind of answer it was built as and the grade that kind must get."""

    item: GradeItem
    kind: str

    @property
    def expected(self) -> Grade:
        return EXPECTED[self.kind]


def pick_questions(path: Path, n: int, rng: random.Random) -> list[tuple[str, str]]:
    """``n`` (question, gold) pairs with short, digit-free text golds whose words do not overlap."""
    records = json.loads(path.read_text(encoding="utf-8"))
    rng.shuffle(records)
    chosen: list[tuple[str, str]] = []
    words: set[str] = set()
    for rec in records:
        gold = rec["answers"].strip()
        tokens = {w.lower() for w in gold.split()}
        if 1 <= len(tokens) <= 3 and not any(c.isdigit() for c in gold) and not tokens & words:
            chosen.append((rec["question"].strip(), gold))
            words |= tokens
        if len(chosen) == n:
            return chosen
    raise SystemExit(f"only {len(chosen)} usable questions in {path}")


def build_workload(path: Path, seed: int, prompts: int = 8) -> list[Case]:
    """``prompts`` x 10 items in the designed mix (module docstring), shuffled within each question's group."""
    rng = random.Random(seed)
    questions = pick_questions(path, prompts, rng)
    cases = []
    for p, (question, gold) in enumerate(questions):
        first, second = rng.sample([g for q, g in questions if q != question], 2)
        answers = ([("right", gold)] * 3 + [("right", f"It is {gold}.")] + [("wrong", first)] * 2
                   + [("wrong", second)] * 2 + [("abstain", a) for a in ABSTAIN])
        rng.shuffle(answers)
        cases += [Case(GradeItem(question, gold, answer, f"p{p}-{i}"), kind) for i, (kind, answer) in
                  enumerate(answers)]
    return cases


def rule_pass(cases: list[Case]) -> dict:
    """The reference arm; stops the run if the workload is not graded as designed."""
    start = time.perf_counter()
    with get_judge({"backend": "rule", "cache": None}) as judge:
        results = judge.grade([c.item for c in cases])
    seconds = time.perf_counter() - start
    wrong = [(c.item.prediction, c.item.gold, c.expected.value, r.grade) for c, r in zip(cases, results)
             if r.grade != c.expected]
    if wrong:
        raise SystemExit(f"workload not graded as designed by the rule grader: {wrong[:5]}")
    return {"seconds": round(seconds, 4), "items_per_s": round(len(cases) / seconds, 1), "calls": 0,
            "prompt_tokens": 0, "completion_tokens": 0, "grades": [r.grade.value for r in results]}


def upstream_pass(url: str, items: list[GradeItem], max_tokens: int) -> dict:
    """One blocking call per completion, one-letter reply capped at ``max_tokens``, lenient parse."""
    spec = TASKS["grade"]
    grades, prompt_tokens, completion_tokens, start = [], 0, 0, time.perf_counter()
    with httpx.Client(timeout=600) as client:
        for item in items:
            system, user = spec.messages({"question": item.question, "gold": item.gold,
                                          "prediction": item.prediction}, "text")
            body = {"model": "judge", "messages": [{"role": "user", "content": system["content"] + "\n\n"
                                                    + user["content"]}],
                    "max_tokens": max_tokens, "temperature": 0.0, "seed": 42}
            response = client.post(url + "/v1/chat/completions", json=body)
            response.raise_for_status()
            reply = response.json()
            prompt_tokens += reply["usage"]["prompt_tokens"]
            completion_tokens += reply["usage"]["completion_tokens"]
            grades.append(lenient_grade(reply["choices"][0]["message"]["content"] or "").value)
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 3), "items_per_s": round(len(items) / seconds, 4), "calls": len(items),
            "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "max_tokens": max_tokens,
            "grades": grades}


def project_pass(url: str, items: list[GradeItem], cache: Path) -> dict:
    """knowrl's client: dedupe, constrained one-grade reply, strict parse, persistent cache."""
    cfg = {"backend": "llamacpp", "base_url": url + "/v1", "cache": str(cache), "concurrency": 1}
    start = time.perf_counter()
    with get_judge(cfg) as judge:
        results = judge.grade(items)
        stats = judge.stats()
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 4), "items_per_s": round(len(items) / seconds, 4), "calls": stats["calls"],
            "prompt_tokens": stats["prompt_tokens"], "completion_tokens": stats["completion_tokens"],
            "cache_hits": stats["cache_hits"], "deduplicated": stats["deduplicated"],
            "unparseable": stats["unparseable"], "failed": stats["failed"],
            "grades": [r.grade.value if r.grade else None for r in results]}


def warm_up(url: str) -> None:
    """One call of each style first, so model load and grammar set-up are not timed."""
    probe = [GradeItem("Warm-up question?", "yes", "yes")]
    upstream_pass(url, probe, UPSTREAM_MAX_TOKENS)
    with tempfile.TemporaryDirectory() as tmp:
        project_pass(url, probe, Path(tmp) / "warm.sqlite")


def median_run(passes: list[dict]) -> dict:
    """The pass with the median time, every pass's seconds, and whether the passes graded identically."""
    ordered = sorted(passes, key=lambda p: p["seconds"])
    return {**ordered[(len(ordered) - 1) // 2], "seconds_runs": [p["seconds"] for p in passes],
            "passes_graded_identically": all(p["grades"] == passes[0]["grades"] for p in passes)}


def quality(cases: list[Case], grades: list[str | None]) -> dict:
    """Grade counts and agreement with the expected grades (overall, as kappa/confusion, and per answer kind)."""
    expected = [c.expected.value for c in cases]
    by_kind = {kind: round(sum(g == c.expected.value for c, g in zip(cases, grades) if c.kind == kind)
                           / sum(c.kind == kind for c in cases), 3) for kind in EXPECTED}
    return {"grade_counts": dict(Counter(str(g) for g in grades)),
            "agreement_with_expected": round(sum(g == e for g, e in zip(grades, expected)) / len(cases), 4),
            "agreement_by_kind": by_kind, "vs_expected": agreement_report(expected, grades)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rl-data", default=str(REPO.parent / "shared/data/knowrl/knowrl_RLdata.json"))
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/judge.json"))
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--n-threads", type=int, default=2, help="llama.cpp threads (fixed for comparability)")
    parser.add_argument("--upstream-max-tokens", type=int, default=UPSTREAM_MAX_TOKENS)
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per model arm, interleaved (the "
                                                               "median is reported: the CPU is shared)")
    args = parser.parse_args(argv)

    from knowrl.assets import AssetStore

    gguf = str(AssetStore().path("tiny_lm"))
    cases = build_workload(Path(args.rl_data), args.seed, args.prompts)
    items = [c.item for c in cases]
    rule = rule_pass(cases)
    settings = {"served_name": "judge", "n_ctx": 2048, "n_threads": args.n_threads}
    with tempfile.TemporaryDirectory() as tmp, ManagedServer(
            "llamacpp", lambda port: llamacpp_command(gguf, settings, port, seed=args.seed), "/v1/models",
            log_path=Path(tmp) / "server.log", startup_timeout_s=300) as server:
        warm_up(server.url)
        runs: dict[str, list[dict]] = {"upstream": [], "project": []}
        for r in range(args.repeats):  # each project pass starts from an empty cache
            runs["upstream"].append(upstream_pass(server.url, items, args.upstream_max_tokens))
            runs["project"].append(project_pass(server.url, items, Path(tmp) / f"cache{r}.sqlite"))
        cached = project_pass(server.url, items, Path(tmp) / "cache0.sqlite")
    arms = {name: median_run(passes) for name, passes in runs.items()}
    record = report(cases, {**arms, "cached": cached, "rule": rule}, args)
    write_json_atomic(args.out, record)
    print(json.dumps({k: record[k] for k in ("speedup_step", "speedup_cached", "call_ratio", "token_ratio")}
                     | {arm: record["arms"][arm]["agreement_with_expected"] for arm in record["arms"]}))
    return 0


def report(cases: list[Case], arms: dict[str, dict], args: argparse.Namespace) -> dict:
    upstream, project, cached = arms["upstream"], arms["project"], arms["cached"]
    tokens = {name: arm["prompt_tokens"] + arm["completion_tokens"] for name, arm in arms.items()}
    return {
        "benchmark": "judge_step_grading",
        "workload": {"prompts": args.prompts, "completions_per_prompt": 10, "items": len(cases),
                     "distinct_items": len({(c.item.question, c.item.gold, c.item.prediction) for c in cases}),
                     "seed": args.seed, "source": "knowrl_RLdata.json questions and golds",
                     "mix_per_prompt": {"right": 4, "wrong": 4, "abstain": 2},
                     "expected_grades": dict(Counter(c.expected.value for c in cases)),
                     "items_listing": [{"id": c.item.id, "question": c.item.question, "gold": c.item.gold,
                                        "prediction": c.item.prediction, "kind": c.kind,
                                        "expected": c.expected.value} for c in cases]},
        "server": {"backend": "llama-cpp-python server", "model": "SmolLM2-135M-Instruct Q4_1 (embedded)",
                   "n_threads": args.n_threads, "parallel_slots": 1},
        "repeats": args.repeats,
        "arms": {name: {**{k: v for k, v in arm.items() if k != "grades"}, "tokens": tokens[name],
                        **quality(cases, arm["grades"])} for name, arm in arms.items()},
        "speedup_step": round(upstream["seconds"] / project["seconds"], 2),
        "speedup_cached": round(upstream["seconds"] / cached["seconds"], 1),
        "call_ratio": round(upstream["calls"] / max(1, project["calls"]), 2),
        "token_ratio": round(tokens["upstream"] / max(1, tokens["project"]), 2),
        "reference": "rule",
        "note": "SmolLM2-135M is near chance as a grader, so the model arms' agreement with the expected grades is "
                "reported but not a quality claim; the rule grader is the reference (it must reproduce the designed "
                "grades). Timings are on a shared CPU and noisy; calls and tokens are load-independent.",
        "provenance": provenance(None, argv=sys.argv[1:], load_avg_1m_end=os.getloadavg()[0]),
    }


if __name__ == "__main__":
    sys.exit(main())
