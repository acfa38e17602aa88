"""Reward throughput: one KnowRL optimizer step (8 prompts x 10 completions) scored by the project pipeline vs an
upstream-style baseline, measured in the same run with the same backends.

Baseline (upstream style): one completion at a time; grade it, decompose its reasoning, then for each fact search
the KB and verify; the fact score for every completion; no cache, no de-duplication. Project: ``RewardScorer`` as
training uses it (batched stages, distinct answers graded once, facts only where they can change the reward,
facts de-duplicated across the group, the judge's and the fact pipeline's persistent caches), then a second epoch
of fresh completions to the same prompts. Both talk to the same judge server. Completions are built from the
cold-start traces (seeded): each keeps a random subset of its trace's sentences and gets a correct, wrong,
refusing or missing answer.

    python benchmarks/bench_rewards.py                       # llama.cpp judge (tiny GGUF) + embedding verifier
    python benchmarks/bench_rewards.py --judge rule          # model-free judge (seconds)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ANSWER_KINDS = (("correct", 0.3), ("wrong", 0.4), ("refusal", 0.1), ("missing", 0.2))


class CountingJudge:
    """Counts the items sent to each judge task (one llama.cpp request per item)."""

    def __init__(self, judge: Any):
        self.judge = judge
        self.items: Counter[str] = Counter()

    def grade(self, items):
        self.items["grade"] += len(items)
        return self.judge.grade(items)

    def decompose(self, texts):
        self.items["decompose"] += len(texts)
        return self.judge.decompose(texts)

    def verify(self, items):
        self.items["verify"] += len(items)
        return self.judge.verify(items)

    def identity(self):
        return self.judge.identity()

    def stats(self):
        return self.judge.stats()


# -- synthetic step ------------------------------------------------------------------------------------------
def load_traces(path: Path, n_prompts: int, max_sentences: int, rng: random.Random) -> list[dict]:
    from knowrl.facts.pipeline import sentences_of

    records = json.loads(path.read_text(encoding="utf-8"))
    rng.shuffle(records)
    traces = []
    for rec in records:
        text = rec["conversations"][1]["value"]
        think, answer = re.search(r"<think>(.*?)</think>", text, re.S), re.search(r"<answer>(.*?)</answer>", text, re.S)
        if not (think and answer):
            continue
        sentences = sentences_of(think.group(1).strip())[:max_sentences]
        if len(sentences) >= 4:
            traces.append({"question": rec["conversations"][0]["value"], "gold": answer.group(1).strip(),
                           "sentences": sentences})
        if len(traces) == n_prompts:
            return traces
    raise SystemExit(f"only {len(traces)} usable cold-start traces")


def build_step(traces: list[dict], n_completions: int, rng: random.Random) -> list[dict]:
    rows = []
    for p, trace in enumerate(traces):
        others = [t["gold"] for t in traces if t is not trace]
        for _ in range(n_completions):
            kept = [s for s in trace["sentences"] if rng.random() < 0.8] or trace["sentences"][:2]
            reasoning = " ".join(kept)
            kind = rng.choices([k for k, _ in ANSWER_KINDS], [w for _, w in ANSWER_KINDS])[0]
            answer = {"correct": trace["gold"], "wrong": rng.choice(others), "refusal": "I don't know."}.get(kind)
            completion = (f"<think>\n{reasoning}\n</think>\n<answer>\n{answer}\n</answer>" if answer
                          else f"<think>\n{reasoning}\n</think>\nThe answer is unclear.")
            rows.append({"prompt_id": f"p{p}", "question": trace["question"], "answers": trace["gold"],
                         "title": None, "completion": completion, "kind": kind})
    return rows


# -- the two pipelines -----------------------------------------------------------------------------------------
def run_baseline(rows: list[dict], judge: CountingJudge, kb: Any, cfg: dict) -> dict:
    from knowrl.facts import EmbeddingVerifier, EvidenceRetriever, JudgeDecomposer, RuleDecomposer, VerifierSettings
    from knowrl.facts.evidence import TitleLookup
    from knowrl.judge import GradeItem
    from knowrl.rewards import RewardValues, extract_answer, extract_reasoning, is_well_formed
    from knowrl.rewards.correctness import judge_outcome
    from knowrl.rewards.values import correctness_value, fact_score, total_value

    facts_cfg = cfg["facts"]
    decomposer = (JudgeDecomposer(judge, facts_cfg["min_words"]) if facts_cfg["decomposer"] == "judge"
                  else RuleDecomposer(facts_cfg["min_words"]))
    retriever = EvidenceRetriever(kb, k=facts_cfg["k"], mode=facts_cfg["retrieval_mode"])
    verifier = EmbeddingVerifier(kb, threshold=VerifierSettings().resolved_threshold(), max_cached_passages=0)
    values, totals = RewardValues("code"), []
    start = time.perf_counter()
    for row in rows:
        text = row["completion"]
        answer = extract_answer(text)
        if answer is None:
            grade, refusal, r_correct = None, False, correctness_value(None, values)
        else:
            g = judge_outcome(judge.grade([GradeItem(row["question"], row["answers"], answer)])[0], values)
            grade, refusal, r_correct = g.grade, g.refusal, g.reward
        [facts] = decomposer.decompose([extract_reasoning(text)])
        supported = n = 0
        for fact in facts.facts or []:
            [hits] = retriever.retrieve([(TitleLookup((), ()), fact)])
            [verdict] = verifier.verify([(fact, hits or [])])
            n += verdict.supported is not None
            supported += bool(verdict.supported)
        r_fact = fact_score(supported, n, values) if facts.facts is not None else None
        totals.append(total_value(1.0 if is_well_formed(text) else -1.0, r_correct, refusal, r_fact, values))
    seconds = time.perf_counter() - start
    return {"pipeline": "baseline", "completions": len(rows), "seconds": round(seconds, 3),
            "completions_per_s": len(rows) / seconds, "judge_items": dict(judge.items),
            "judge_calls": sum(judge.items.values()), "verifier_calls": verifier.calls,
            "kb_searches": retriever.counts["searches"], "totals": totals}


def run_project(rows: list[dict], judge: CountingJudge, kb: Any, cfg: dict, label: str) -> dict:
    from knowrl.rewards import RewardScorer

    scorer = RewardScorer.from_config(cfg, kb=kb, judge=judge)
    before_items, before_judge = Counter(judge.items), judge.stats()
    start = time.perf_counter()
    columns = {k: [r[k] for r in rows] for k in ("question", "answers", "title", "prompt_id")}
    funcs = scorer.reward_functions()
    per_func = [f(prompts=None, completions=[r["completion"] for r in rows], **columns) for f in funcs]
    seconds = time.perf_counter() - start
    metrics = scorer.step_metrics()
    stats = scorer.facts.stats()
    cache = stats["cache"]
    after_judge = judge.stats()
    judge_hits = after_judge.get("cache_hits", 0) - before_judge.get("cache_hits", 0)
    judge_lookups = after_judge.get("items", 0) - before_judge.get("items", 0)
    hits = judge_hits + sum(v["hits"] for v in cache.values())
    asked = judge_lookups + sum(v["hits"] + v["misses"] for v in cache.values())
    cache["judge"] = {"hits": judge_hits, "misses": judge_lookups - judge_hits}
    scorer.facts.cache.close()
    items = Counter(judge.items) - before_items
    return {"pipeline": "project", "epoch": label, "completions": len(rows), "seconds": round(seconds, 3),
            "completions_per_s": len(rows) / seconds, "judge_items": dict(items),
            "judge_calls": sum(items.values()), "verifier_calls": stats["verifier_calls"],
            "kb_searches": stats["retriever"].get("searches", 0), "cache": cache,
            "cache_hit_rate": hits / asked if asked else 0.0, "fact_pipeline": stats["counts"],
            "stage_seconds": stats["seconds"], "step_metrics": metrics,
            "totals": [sum(v) if None not in v else None for v in zip(*per_func)]}


# -- setup -------------------------------------------------------------------------------------------------------
def find_kb(given: str | None) -> Path:
    if given:
        return Path(given)
    found = sorted(REPO.glob(".cache/kb-tests/*/vital/manifest.json"))
    if not found:
        raise SystemExit("no KB: pass --kb DIR (a `knowrl kb build` output) or run the kb tests once")
    return found[-1].parent


def make_judge(kind: str, threads: int, log_dir: str, cache: str | None = None, url: str | None = None) -> Any:
    """The baseline's judge (no cache) starts the server; the project's judge (with its cache) reuses it."""
    from knowrl.judge import get_judge

    if kind == "rule":
        return get_judge({"backend": "rule", "cache": cache})
    return get_judge({"backend": "llamacpp", "cache": cache, "log_dir": log_dir, "timeout_s": 600,
                      "base_url": url, "llamacpp": {"n_threads": threads}})





def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--judge", choices=["llamacpp", "rule"], default="llamacpp")
    ap.add_argument("--decompose-unit", choices=["text", "sentence"], default="text")
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--completions", type=int, default=10)
    ap.add_argument("--baseline-prompts", type=int, default=8,
                    help="prompts (groups) the baseline scores; fewer keeps slow backends affordable, the "
                         "rate is per completion")
    ap.add_argument("--max-sentences", type=int, default=8, help="sentences kept from each cold-start trace")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--kb")
    ap.add_argument("--coldstart", default=str(REPO.parent / "shared/data/knowrl/knowrl_coldstart.json"))
    ap.add_argument("--out", default=str(REPO / "benchmarks/results/rewards.json"))
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from knowrl.artifact.provenance import provenance
    from knowrl.files import write_json_atomic
    from knowrl.kb import KnowledgeBase

    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    traces = load_traces(Path(args.coldstart), args.prompts, args.max_sentences, rng)
    epochs = [build_step(traces, args.completions, random.Random(args.seed + e)) for e in (1, 2)]
    baseline_rows = [r for r in epochs[0] if int(r["prompt_id"][1:]) < args.baseline_prompts]
    tmp = Path(tempfile.mkdtemp(prefix="bench_rewards_"))
    cfg = {"reward": {"variant": "code"},
           "facts": {"decomposer": "judge", "decompose_unit": args.decompose_unit, "k": 5, "min_words": 3,
                     "retrieval_mode": "hybrid", "verifier": {"backend": "embedding"},
                     "cache": {"path": str(tmp / "facts.sqlite")}}}
    kb_path = find_kb(args.kb)
    records = []
    with KnowledgeBase.open(kb_path) as kb, make_judge(args.judge, args.threads, str(tmp / "judge")) as raw:
        kb.search(["warm-up query"], k=5)
        judge = CountingJudge(raw)
        judge.grade(_warmup_items())
        judge.items.clear()
        base = run_baseline(baseline_rows, judge, kb, cfg)
        records.append(base)
        print(_line(base), file=sys.stderr)
        with make_judge(args.judge, args.threads, str(tmp / "judge"), cache=str(tmp / "judge_cache.sqlite"),
                        url=getattr(raw, "base_url", None)) as cached_raw:
            cached = CountingJudge(cached_raw)
            for label, rows in zip(("1", "2"), epochs):
                rec = run_project(rows, cached, kb, cfg, label)
                records.append(rec)
                print(_line(rec), file=sys.stderr)
        identity = raw.identity()
    overlap = [(b, p, row["kind"]) for b, p, row in zip(base["totals"], records[1]["totals"], baseline_rows)
               if b is not None and p is not None]
    differing = Counter(kind for b, p, kind in overlap if abs(b - p) > 1e-9)
    result = {
        "benchmark": "rewards", "seed": args.seed, "threads": args.threads, "judge": args.judge,
        "judge_identity": identity, "decompose_unit": args.decompose_unit, "verifier": "embedding",
        "kb": str(kb_path), "prompts": args.prompts, "completions_per_prompt": args.completions,
        "baseline_prompts": args.baseline_prompts, "max_sentences": args.max_sentences,
        "answer_mix": dict(ANSWER_KINDS), "records": [{k: v for k, v in r.items() if k != "totals"}
                                                      for r in records],
        "speedup_completions_per_s": records[1]["completions_per_s"] / base["completions_per_s"],
        "judge_call_ratio": base["judge_calls"] / len(baseline_rows) / max(1e-9, records[1]["judge_calls"]
                                                                          / len(epochs[0])),
        "verifier_call_ratio": base["verifier_calls"] / len(baseline_rows) / max(1e-9, records[1]["verifier_calls"]
                                                                                / len(epochs[0])),
        "epoch2_cache_hit_rate": records[2]["cache_hit_rate"],
        "reward_agreement": {"compared": len(overlap), "differing_by_answer_kind": dict(differing),
                             "max_abs_diff": max((abs(b - p) for b, p, _ in overlap), default=None)},
        "provenance": provenance(None),
    }
    result["targets"] = {"speedup_ge_5x": result["speedup_completions_per_s"] >= 5,
                         "epoch2_cache_hits_ge_50pct": result["epoch2_cache_hit_rate"] >= 0.5}
    write_json_atomic(args.out, result)
    print(json.dumps({k: result[k] for k in ("speedup_completions_per_s", "judge_call_ratio",
                                             "verifier_call_ratio", "epoch2_cache_hit_rate", "targets")}))
    return 0


def _warmup_items():
    from knowrl.judge import GradeItem

    return [GradeItem("What is the capital of France?", "Paris", "Paris")]


def _line(rec: dict) -> str:
    return (f"{rec['pipeline']} {rec.get('epoch', '')}: {rec['completions']} completions in {rec['seconds']:.1f}s "
            f"({rec['completions_per_s']:.2f}/s), judge items {rec['judge_items']}, verifier {rec['verifier_calls']}")


if __name__ == "__main__":
    sys.exit(main())
