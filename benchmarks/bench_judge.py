"""Benchmark: one KnowRL optimizer step's grading (8 prompts x 10 completions) on one llama.cpp server.

Arms, measured in the same run on the same server (embedded SmolLM2-135M GGUF):
  upstream  one blocking call per completion, the grading instructions as one user message, free-text reply up
            to the upstream token limit (4096), lenient parse (first CORRECT/A wins), no cache, no de-duplication;
  project   knowrl's judge client: identical requests sent once, reply constrained by a JSON schema to one grade,
            strict parse, persistent cache (empty at the start);
  cached    the same step again through a new judge on the same cache file (as the next run would see it).
The workload is built from the cold-start traces: each prompt's gold is its trace's answer, and its 10
completions share 2-4 distinct answers (the gold, a variant of it, other traces' answers, "I don't know."), the
duplication real GRPO groups show on short factoid answers. Output: one JSON record (benchmarks/results/judge.json).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import httpx

from knowrl.artifact import provenance
from knowrl.files import write_json_atomic
from knowrl.judge import GradeItem, get_judge
from knowrl.judge.parsing import lenient_grade
from knowrl.judge.servers import ManagedServer, llamacpp_command
from knowrl.judge.tasks import TASKS

REPO = Path(__file__).resolve().parents[1]
UPSTREAM_MAX_TOKENS = 4096  # the upstream judge call's limit
ANSWER = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.DOTALL)


def build_workload(path: Path, seed: int, prompts: int = 8, completions: int = 10) -> list[GradeItem]:
    """8 x 10 grading items with GRPO-like answer duplication inside each prompt's group."""
    rng = random.Random(seed)
    records = []
    for rec in json.loads(path.read_text(encoding="utf-8")):
        match = ANSWER.search(rec["conversations"][1]["value"])
        if match and 0 < len(match.group(1)) <= 80:
            records.append((rec["conversations"][0]["value"].strip(), match.group(1)))
    chosen = rng.sample(records, prompts)
    others = [answer for _, answer in rng.sample(records, 40)]
    items = []
    for question, gold in chosen:
        pool = [gold, gold.rstrip(".") + ".", rng.choice(others), rng.choice(others), "I don't know."]
        distinct = pool[:1] + rng.sample(pool[1:], rng.randint(1, 3))
        weights = [0.5] + [0.5 / (len(distinct) - 1)] * (len(distinct) - 1)
        answers = distinct + rng.choices(distinct, weights, k=completions - len(distinct))
        rng.shuffle(answers)
        items += [GradeItem(question, gold, answer, f"{len(items)}") for answer in answers]
    return items


def upstream_pass(url: str, items: list[GradeItem], max_tokens: int) -> dict:
    """One blocking call per completion, free-text reply, lenient parse."""
    spec = TASKS["grade"]
    grades, tokens, start = [], 0, time.perf_counter()
    with httpx.Client(timeout=600) as client:
        for item in items:
            system, user = spec.messages({"question": item.question, "gold": item.gold,
                                          "prediction": item.prediction}, "text")
            body = {"model": "judge", "messages": [{"role": "user", "content": system["content"] + "\n\n" +
                                                    user["content"]}],
                    "max_tokens": max_tokens, "temperature": 0.0, "seed": 42}
            reply = client.post(url + "/v1/chat/completions", json=body).json()
            tokens += reply["usage"]["completion_tokens"]
            grades.append(lenient_grade(reply["choices"][0]["message"]["content"] or "").value)
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 3), "items_per_s": round(len(items) / seconds, 4), "model_calls": len(items),
            "generated_tokens": tokens, "grades": grades}


def project_pass(url: str, items: list[GradeItem], cache: Path) -> dict:
    """knowrl's client: dedupe, constrained one-grade reply, strict parse, persistent cache."""
    cfg = {"backend": "llamacpp", "base_url": url + "/v1", "cache": str(cache), "concurrency": 1}
    start = time.perf_counter()
    with get_judge(cfg) as judge:
        results = judge.grade(items)
        stats = judge.stats()
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 4), "items_per_s": round(len(items) / seconds, 4),
            "model_calls": stats["calls"], "generated_tokens": stats["completion_tokens"],
            "cache_hits": stats["cache_hits"], "deduplicated": stats["deduplicated"],
            "unparseable": stats["unparseable"], "failed": stats["failed"],
            "grades": [r.grade.value if r.grade else None for r in results]}


def warm_up(url: str, items: list[GradeItem]) -> None:
    """One call of each style first, so model load and grammar set-up are not timed."""
    probe = [GradeItem("Warm-up question?", "yes", "yes")]
    upstream_pass(url, probe, 8)
    with tempfile.TemporaryDirectory() as tmp:
        project_pass(url, probe, Path(tmp) / "warm.sqlite")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--coldstart", default=str(REPO.parent / "shared/data/knowrl/knowrl_coldstart.json"))
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/judge.json"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--n-threads", type=int, default=2, help="llama.cpp threads (fixed for comparability)")
    parser.add_argument("--upstream-max-tokens", type=int, default=UPSTREAM_MAX_TOKENS)
    args = parser.parse_args(argv)

    from knowrl.assets import AssetStore

    gguf = str(AssetStore().path("tiny_lm"))
    items = build_workload(Path(args.coldstart), args.seed)
    settings = {"served_name": "judge", "n_ctx": 2048, "n_threads": args.n_threads}
    with tempfile.TemporaryDirectory() as tmp, ManagedServer(
            "llamacpp", lambda port: llamacpp_command(gguf, settings, port, seed=args.seed), "/v1/models",
            log_path=Path(tmp) / "server.log", startup_timeout_s=300) as server:
        warm_up(server.url, items)
        upstream = upstream_pass(server.url, items, args.upstream_max_tokens)
        project = project_pass(server.url, items, Path(tmp) / "cache.sqlite")
        cached = project_pass(server.url, items, Path(tmp) / "cache.sqlite")
    record = report(items, upstream, project, cached, args)
    write_json_atomic(args.out, record)
    print(json.dumps({k: record[k] for k in ("speedup_step", "speedup_cached", "targets_met")}))
    return 0


def report(items: list[GradeItem], upstream: dict, project: dict, cached: dict, args: argparse.Namespace) -> dict:
    agree = sum(a == b for a, b in zip(upstream["grades"], project["grades"]))
    speedup, speedup_cached = upstream["seconds"] / project["seconds"], upstream["seconds"] / cached["seconds"]
    return {
        "benchmark": "judge_step_grading",
        "workload": {"prompts": 8, "completions_per_prompt": 10, "items": len(items),
                     "distinct_items": len({(i.question, i.gold, i.prediction) for i in items}), "seed": args.seed,
                     "source": "knowrl_coldstart.json answers"},
        "server": {"backend": "llama-cpp-python server", "model": "SmolLM2-135M-Instruct Q4_1 (embedded)",
                   "n_threads": args.n_threads, "parallel_slots": 1},
        "upstream": {k: v for k, v in upstream.items() if k != "grades"},
        "project": {k: v for k, v in project.items() if k != "grades"},
        "cached": {k: v for k, v in cached.items() if k != "grades"},
        "speedup_step": round(speedup, 2), "speedup_cached": round(speedup_cached, 1),
        "call_ratio": round(upstream["model_calls"] / max(1, project["model_calls"]), 2),
        "token_ratio": round(upstream["generated_tokens"] / max(1, project["generated_tokens"]), 2),
        "grade_agreement_upstream_vs_project": round(agree / len(items), 3),
        "grade_counts": {"upstream_lenient": _counts(upstream["grades"]), "project_strict": _counts(project["grades"])},
        "targets": {"step_speedup": 3.0, "cached_speedup": 100.0},
        "targets_met": speedup >= 3.0 and speedup_cached >= 100.0,
        "note": "tiny judge model: grades test plumbing, not quality; the CPU is shared, so timings are noisy; "
                "model calls and generated tokens are load-independent",
        "provenance": provenance(None, argv=sys.argv[1:]),
    }


def _counts(grades: list) -> dict:
    out: dict = {}
    for grade in grades:
        out[str(grade)] = out.get(str(grade), 0) + 1
    return out


if __name__ == "__main__":
    sys.exit(main())
