"""Reward throughput: one KnowRL optimizer step (8 prompts x 10 completions) scored by the project pipeline vs an
upstream-style baseline, measured in the same run with the same backends, with the fact pipeline really running.

Baseline (upstream style): one completion at a time; grade it, decompose its reasoning, then for each fact search
the question's KB pages and verify; the fact score for every completion; no cache, no de-duplication (each judge
item is its own model call, with the project's request and strict parse). Project:
``RewardScorer`` as training uses it (batched stages, rule stages before the judge, distinct answers graded once,
facts only where they can change the reward, facts de-duplicated across the group, persistent caches), then a
second epoch of fresh completions to the same prompts. Both use the same judge server, decomposer, KB and
embedding verifier.

Workload (seeded): 8 KnowRL RL questions that name a page of the vital-articles corpus; the KB is built from a
slice of that corpus (those pages and their questions' other vital titles, plus distractor articles), so the
facts of the completions have real evidence. Each question gets 10 completions in a fixed mix: 3 correct (the
gold), 4 wrong (other questions' golds), 1 refusal ("I don't know.") and 2 without an answer. Reasoning is a
seeded subset of the page's lead sentences (supported facts); wrong and unanswered completions add a sentence
about another question's page (unsupported under this question's pages). The rule grader must grade the mix as
designed (24 CORRECT, 32 INCORRECT, 8 NOT_ATTEMPTED, 16 missing), and every arm must produce facts, retrievals
and verifications; the run exits non-zero otherwise.

Decomposer: ``--decomposer auto`` asks the judge's atomic-facts task first on four of the texts and uses it if it
yields facts, else the rule splitter (the record says which and why); the rule judge decomposes by rule anyway.

    python benchmarks/bench_rewards.py                       # llama.cpp judge (tiny GGUF) grades
    python benchmarks/bench_rewards.py --judge rule --out benchmarks/results/rewards_rule.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MIX = (("correct", 3), ("wrong", 4), ("refusal", 1), ("missing", 2))  # per prompt, 10 completions
DESIGNED_GRADE = {"correct": "CORRECT", "wrong": "INCORRECT", "refusal": "NOT_ATTEMPTED", "missing": "MISSING"}
STAGES = ("grade", "decompose", "retrieve", "verify")


@contextmanager
def timed(seconds: Counter, stage: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds[stage] += time.perf_counter() - start


class CountingJudge:
    """Counts the items sent to each judge task and times them (the project's grade stage is this time)."""

    def __init__(self, judge: Any):
        self.judge = judge
        self.items: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()

    def grade(self, items):
        self.items["grade"] += len(items)
        with timed(self.seconds, "grade"):
            return self.judge.grade(items)

    def decompose(self, texts):
        self.items["decompose"] += len(texts)
        with timed(self.seconds, "decompose"):
            return self.judge.decompose(texts)

    def identity(self):
        return self.judge.identity()

    def stats(self):
        return self.judge.stats()


class UncachedJudge:
    """The baseline's judge: upstream had no cache, so every item is its own model call, with the project's request
    and strict parse on the same server (the judge classes always keep at least an in-memory cache). The rule
    backend grades and splits by rule."""

    def __init__(self, judge: Any):
        self.judge = judge
        self.calls = 0

    def grade(self, items):
        from knowrl.judge import Grade, GradeResult, rule_grade

        if self.judge.name == "rule":
            return [GradeResult(*rule_grade(it.gold, it.prediction, it.question)) for it in items]
        values = [self._call("grade", {"question": it.question, "gold": it.gold, "prediction": it.prediction})
                  for it in items]
        return [GradeResult(Grade(v.value["grade"]) if v.value else None, v.reason) for v in values]

    def decompose(self, texts):
        from knowrl.judge import Decomposition, split_facts

        if self.judge.name == "rule":
            return [Decomposition(*split_facts(text)) for text in texts]
        values = [self._call("atomic_facts", {"text": text}) for text in texts]
        return [Decomposition(v.value["facts"] if v.value else None, bool(v.value and v.value["non_factual"]),
                              v.reason) for v in values]

    def _call(self, task: str, inputs: dict) -> Any:
        import httpx

        from knowrl.judge.base import parsed_outcome

        response = httpx.post(self.judge.base_url + "/chat/completions", json=self.judge.payload(task, inputs),
                              timeout=self.judge.cfg.timeout_s)
        response.raise_for_status()
        self.calls += 1
        return parsed_outcome(task, response.json()["choices"][0]["message"]["content"])

    def identity(self):
        return self.judge.identity()

    def stats(self):
        return {"calls": self.calls}


# -- workload ----------------------------------------------------------------------------------------------------
def load_vital(path: Path) -> dict[str, str]:
    with open(path, encoding="utf-8") as fh:
        return {rec["title"]: rec["text"] for rec in map(json.loads, fh)}


def pick_prompts(rl_path: Path, vital: dict[str, str], n: int, max_sentences: int,
                 rng: random.Random) -> list[dict]:
    """``n`` RL questions with a vital page of >= 4 lead sentences and short, digit-free, non-overlapping golds."""
    from knowrl.facts.evidence import split_title_field
    from knowrl.facts.pipeline import sentences_of

    records = json.loads(rl_path.read_text(encoding="utf-8"))
    rng.shuffle(records)
    prompts, words, pages = [], set(), set()
    for rec in records:
        found = [t for t in split_title_field(rec["title"]) if t in vital]
        gold = rec["answers"].strip()
        tokens = {w.lower() for w in gold.split()}
        if not found or found[0] in pages or any(c.isdigit() for c in gold) or not 1 <= len(tokens) <= 3 \
                or tokens & words:
            continue
        sentences = sentences_of(vital[found[0]])[:max_sentences]
        if len(sentences) >= 4:
            prompts.append({"question": rec["question"].strip(), "gold": gold, "title": rec["title"],
                            "pages": found, "sentences": sentences})
            words |= tokens
            pages.add(found[0])
        if len(prompts) == n:
            return prompts
    raise SystemExit(f"only {len(prompts)} usable RL questions with a vital page")


def build_step(prompts: list[dict], rng: random.Random) -> list[dict]:
    """One step's completions in the designed mix (module docstring)."""
    rows = []
    for p, prompt in enumerate(prompts):
        others = [q for q in prompts if q is not prompt]
        kinds = [kind for kind, count in MIX for _ in range(count)]
        wrong = rng.sample(others, 2)
        for c, kind in enumerate(kinds):
            kept = [s for s in prompt["sentences"] if rng.random() < 0.8] or prompt["sentences"][:2]
            other = wrong[c % 2] if kind == "wrong" else rng.choice(others)
            if kind in ("wrong", "missing"):
                kept.insert(rng.randrange(len(kept) + 1), rng.choice(other["sentences"]))
            reasoning = " ".join(kept)
            answer = {"correct": prompt["gold"], "wrong": other["gold"], "refusal": "I don't know."}.get(kind)
            completion = (f"<think>\n{reasoning}\n</think>\n<answer>\n{answer}\n</answer>" if answer
                          else f"<think>\n{reasoning}\n</think>\nThe answer is unclear.")
            rows.append({"prompt_id": f"p{p}", "question": prompt["question"], "answers": prompt["gold"],
                         "title": prompt["title"], "completion": completion, "kind": kind})
    return rows


def rule_grades(rows: list[dict]) -> list[str]:
    """Grade names the rule grader gives (``MISSING`` = no answer), through the reward's own rule stages."""
    from knowrl.judge import get_judge
    from knowrl.rewards import RewardValues, extract_answer
    from knowrl.rewards.correctness import grade_answers

    with get_judge({"backend": "rule", "cache": None}) as judge:
        outcomes = grade_answers(judge, [r["question"] for r in rows], [r["answers"] for r in rows],
                                 [extract_answer(r["completion"]) for r in rows], RewardValues("code"))
    return [o.grade for o in outcomes]


def check_mix(rows: list[dict]) -> dict:
    """Stop unless the rule grader gives every completion the grade its kind was designed for."""
    wrong = [(r["kind"], r["answers"], g) for r, g in zip(rows, rule_grades(rows)) if g != DESIGNED_GRADE[r["kind"]]]
    if wrong:
        raise SystemExit(f"workload not graded as designed by the rule grader: {wrong[:5]}")
    return dict(Counter(DESIGNED_GRADE[r["kind"]] for r in rows))


def build_slice_kb(prompts: list[dict], vital: dict[str, str], distractors: int, rng: random.Random,
                   out: Path) -> tuple[Path, dict]:
    """A KB of the prompts' vital pages plus ``distractors`` other vital articles; its path and a summary."""
    from knowrl.files import write_jsonl_atomic
    from knowrl.kb import KBSettings, build_kb

    pages = list(dict.fromkeys(t for p in prompts for t in p["pages"]))
    titles = pages + rng.sample(sorted(set(vital) - set(pages)), distractors)
    write_jsonl_atomic(out / "corpus.jsonl", ({"title": t, "text": vital[t]} for t in titles))
    start = time.perf_counter()
    manifest = build_kb(out / "corpus.jsonl", out / "kb", KBSettings(), show_progress=False)
    return out / "kb", {"articles": len(titles), "question_pages": len(pages), "counts": manifest.get("counts"),
                        "build_s": round(time.perf_counter() - start, 2)}


# -- the two pipelines -----------------------------------------------------------------------------------------
def make_decomposer(kind: str, judge: Any, min_words: int) -> Any:
    from knowrl.facts import JudgeDecomposer, RuleDecomposer

    return JudgeDecomposer(judge, min_words) if kind == "judge" else RuleDecomposer(min_words)


def run_baseline(rows: list[dict], judge: CountingJudge, kb: Any, cfg: dict) -> dict:
    """Upstream style: every stage per completion and per fact, the fact score for every completion."""
    from knowrl.facts import EmbeddingVerifier, EvidenceRetriever, FactRecord, FactResult, VerifierSettings
    from knowrl.facts.evidence import split_title_field
    from knowrl.judge import GradeItem
    from knowrl.rewards import RewardSettings, extract_answer, extract_reasoning, is_well_formed
    from knowrl.rewards.correctness import GradeOutcome, judge_outcome
    from knowrl.rewards.scorer import fact_value
    from knowrl.rewards.values import correctness_value, total_value

    facts_cfg, settings = cfg["facts"], RewardSettings.from_config(cfg)
    decomposer = make_decomposer(facts_cfg["decomposer"], judge, facts_cfg["min_words"])
    retriever = EvidenceRetriever(kb, k=facts_cfg["k"], mode=facts_cfg["retrieval_mode"])
    verifier = EmbeddingVerifier(kb, threshold=VerifierSettings().resolved_threshold(), max_cached_passages=0)
    seconds, counts, totals, grades = Counter(), Counter(), [], []
    before = judge.stats()
    start = time.perf_counter()
    for row in rows:
        text = row["completion"]
        answer = extract_answer(text)
        with timed(seconds, "grade"):
            grade = (GradeOutcome("MISSING", "rule", reward=correctness_value(None, settings.values))
                     if answer is None else
                     judge_outcome(judge.grade([GradeItem(row["question"], row["answers"], answer)])[0],
                                   settings.values))
        with timed(seconds, "decompose"):
            [facts] = decomposer.decompose([extract_reasoning(text)])
        lookup = retriever.lookup(split_title_field(row["title"]))
        records = []
        for fact in facts.facts or []:
            with timed(seconds, "retrieve"):
                [hits] = retriever.retrieve([(lookup, fact)])
            with timed(seconds, "verify"):
                [verdict] = verifier.verify([(fact, hits or [])])
            records.append(FactRecord(fact, verdict.supported, verdict.score))
        counts.update(facts=len(records), retrievals=len(records), verifications=len(records),
                      supported=sum(1 for r in records if r.supported))
        result = FactResult(records if facts.facts is not None else None, facts.non_factual, facts.reason)
        r_fact, _ = fact_value(result, settings)
        totals.append(total_value(1.0 if is_well_formed(text) else -1.0, grade.reward, grade.refusal, r_fact,
                                  settings.values))
        grades.append(grade.grade)
    total_s = time.perf_counter() - start
    return {"pipeline": "baseline", "completions": len(rows), "seconds": round(total_s, 3),
            "completions_per_s": round(len(rows) / total_s, 4), "stage_seconds": stage_split(seconds, total_s),
            "judge_items": dict(judge.items), "model_calls": judge.stats()["calls"] - before["calls"],
            "fact_pipeline": dict(counts), "verifier_calls": verifier.calls,
            "kb_searches": retriever.counts["searches"], "grades": grades, "totals": totals}


def run_project(rows: list[dict], judge: CountingJudge, kb: Any, cfg: dict, label: str, log_dir: Path) -> dict:
    """``RewardScorer`` as the trainer calls it (its reward functions on one batch), with its reward log on."""
    from knowrl.files import read_jsonl
    from knowrl.rewards import RewardScorer

    scorer = RewardScorer.from_config({**cfg, "reward": {**cfg["reward"], "log": {"dir": str(log_dir)}}},
                                      kb=kb, judge=judge)
    judge.items.clear()
    judge.seconds.clear()
    before = judge.stats()
    columns = {k: [r[k] for r in rows] for k in ("question", "answers", "title", "prompt_id")}
    start = time.perf_counter()
    per_func = [f(prompts=None, completions=[r["completion"] for r in rows], **columns)
                for f in scorer.reward_functions()]
    total_s = time.perf_counter() - start
    metrics, stats = scorer.step_metrics(), scorer.facts.stats()
    scorer.close()
    after = judge.stats()
    cache = stats["cache"]
    cache["judge"] = {"hits": after.get("cache_hits", 0) - before.get("cache_hits", 0),
                      "misses": (after.get("items", 0) - before.get("items", 0))
                      - (after.get("cache_hits", 0) - before.get("cache_hits", 0))}
    hits, asked = (sum(v["hits"] for v in cache.values()),
                   sum(v["hits"] + v["misses"] for v in cache.values()))
    logged = list(read_jsonl(log_dir / "rewards.jsonl"))
    seconds = Counter({"grade": judge.seconds["grade"], **stats["seconds"]})
    return {"pipeline": "project", "epoch": label, "completions": len(rows), "seconds": round(total_s, 3),
            "completions_per_s": round(len(rows) / total_s, 4), "stage_seconds": stage_split(seconds, total_s),
            "judge_items": dict(judge.items), "model_calls": after["calls"] - before["calls"],
            "fact_pipeline": stats["counts"], "verifier_calls": stats["verifier_calls"],
            "kb_searches": stats["retriever"].get("searches", 0), "cache": cache,
            "cache_hit_rate": round(hits / asked, 4) if asked else 0.0, "step_metrics": metrics,
            "grades": [rec["grade"] for rec in logged],
            "totals": [None if None in v else sum(v) for v in zip(*per_func)]}


def stage_split(seconds: Counter, total_s: float) -> dict:
    """Seconds per stage, the rest as ``other``, and each stage's share of the total."""
    split = {stage: round(seconds[stage], 4) for stage in STAGES}
    split["other"] = round(max(total_s - sum(seconds[s] for s in STAGES), 0.0), 4)
    split["share"] = {k: round(v / total_s, 4) for k, v in split.items() if k != "share"}
    return split


def choose_decomposer(wanted: str, judge_kind: str, judge: Any, texts: list[str]) -> tuple[str, dict | None]:
    """``auto``: the judge's atomic-facts task if it gives facts on ``texts``, else the rule splitter."""
    if wanted != "auto":
        return wanted, None
    if judge_kind == "rule":
        return "judge", None  # the rule judge's decompose task is the rule splitter
    results = judge.decompose(texts)
    probe = {"texts": len(texts), "facts": sum(len(r.facts or []) for r in results),
             "failed": sum(r.facts is None for r in results), "non_factual": sum(r.non_factual for r in results),
             "reasons": sorted({r.reason for r in results if r.reason})[:3]}
    probe["why"] = ("the llama.cpp judge's atomic-facts task gave facts" if probe["facts"] else
                    "the llama.cpp judge's atomic-facts task gave no facts, so the rule splitter decomposes "
                    "and the llama.cpp judge grades")
    return ("judge" if probe["facts"] else "rule"), probe


def make_judge(kind: str, threads: int, log_dir: str, cache: str | None = None, url: str | None = None) -> Any:
    """The baseline's judge (no cache) starts the server; the project's judge (with its cache) reuses it."""
    from knowrl.judge import get_judge

    if kind == "rule":
        return get_judge({"backend": "rule", "cache": cache})
    return get_judge({"backend": "llamacpp", "cache": cache, "log_dir": log_dir, "timeout_s": 600,
                      "base_url": url, "concurrency": 1, "llamacpp": {"n_threads": threads}})


# -- report ------------------------------------------------------------------------------------------------------
def checks(records: list[dict], rows: list[dict], judge_kind: str) -> dict[str, bool]:
    """The fact pipeline really ran in every arm (cache hits count for the second epoch); with the rule judge the
    arms grade as designed."""
    out = {}
    for rec in records:
        name = rec["pipeline"] + rec.get("epoch", "")
        fp = rec["fact_pipeline"]
        out[f"{name}_facts"] = fp.get("facts", 0) > 0
        out[f"{name}_retrievals"] = fp.get("retrievals", 0) + fp.get("retrieve_cache_hits", 0) > 0
        out[f"{name}_verifications"] = fp.get("verifications", 0) + fp.get("verify_cache_hits", 0) > 0
        if rec.get("epoch") != "2":
            out[f"{name}_retrievals_run"] = fp.get("retrievals", 0) > 0
            out[f"{name}_verifications_run"] = fp.get("verifications", 0) > 0
        if judge_kind == "rule" and rec.get("epoch") != "2":
            out[f"{name}_grades_as_designed"] = rec["grades"] == [DESIGNED_GRADE[r["kind"]] for r in rows]
    return out


def quality(rec: dict, rows: list[dict]) -> dict:
    """Grade counts, agreement with the designed grades per answer kind, and the spread of the totals."""
    by_kind = {kind: round(sum(g == DESIGNED_GRADE[kind] for g, r in zip(rec["grades"], rows) if r["kind"] == kind)
                           / sum(r["kind"] == kind for r in rows), 3) for kind, _ in MIX}
    scored = [t for t in rec["totals"] if t is not None]
    return {"grade_counts": dict(Counter(str(g) for g in rec["grades"])), "grade_agreement_by_kind": by_kind,
            "unscorable": len(rec["totals"]) - len(scored),
            "total_mean": round(statistics.mean(scored), 4) if scored else None,
            "total_std": round(statistics.pstdev(scored), 4) if scored else None}


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--judge", choices=["llamacpp", "rule"], default="llamacpp")
    ap.add_argument("--decomposer", choices=["auto", "judge", "rule"], default="auto")
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--max-sentences", type=int, default=6, help="lead sentences a completion's reasoning draws on")
    ap.add_argument("--distractors", type=int, default=300, help="other vital articles in the KB slice")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats of the three passes (median reported)")
    ap.add_argument("--rl-data", default=str(REPO.parent / "shared/data/knowrl/knowrl_RLdata.json"))
    ap.add_argument("--vital", default=str(REPO.parent / "shared/data/wiki_vital4_en/articles.jsonl"))
    ap.add_argument("--out", default=str(REPO / "benchmarks/results/rewards.json"))
    return ap.parse_args(argv)


def measure(epochs: list[list[dict]], raw: Any, kb: Any, cfg: dict, args: argparse.Namespace,
            work: Path) -> list[dict]:
    """Baseline, then the project's two epochs on fresh caches in ``work`` (one repeat)."""
    cfg = {**cfg, "facts": {**cfg["facts"], "cache": {"path": str(work / "facts.sqlite")}}}
    records = [run_baseline(epochs[0], CountingJudge(UncachedJudge(raw)), kb, cfg)]
    print(_line(records[-1]), file=sys.stderr)
    with make_judge(args.judge, args.threads, str(work / "judge"), cache=str(work / "judge_cache.sqlite"),
                    url=getattr(raw, "base_url", None)) as cached_raw:
        cached = CountingJudge(cached_raw)
        for label, rows in zip(("1", "2"), epochs):
            records.append(run_project(rows, cached, kb, cfg, label, work / f"log{label}"))
            print(_line(records[-1]), file=sys.stderr)
    return records


def median_record(runs: list[dict]) -> dict:
    """The repeat with the median time, every repeat's seconds, and whether the repeats graded identically."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    return {**ordered[(len(ordered) - 1) // 2], "seconds_runs": [r["seconds"] for r in runs],
            "repeats_graded_identically": all(r["grades"] == runs[0]["grades"] for r in runs)}


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from knowrl.files import write_json_atomic
    from knowrl.kb import KnowledgeBase
    from knowrl.rewards import extract_reasoning

    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    vital = load_vital(Path(args.vital))
    prompts = pick_prompts(Path(args.rl_data), vital, args.prompts, args.max_sentences, rng)
    epochs = [build_step(prompts, random.Random(args.seed + e)) for e in (1, 2)]
    designed = check_mix(epochs[0])
    tmp = Path(tempfile.mkdtemp(prefix="bench_rewards_"))
    kb_path, kb_info = build_slice_kb(prompts, vital, args.distractors, rng, tmp)
    cfg = {"reward": {"variant": "code"},
           "facts": {"decomposer": "judge", "decompose_unit": "text", "k": 5, "min_words": 3,
                     "retrieval_mode": "hybrid", "verifier": {"backend": "embedding"}}}
    with KnowledgeBase.open(kb_path) as kb, make_judge(args.judge, args.threads, str(tmp / "judge")) as raw:
        kb.search(["warm-up query"], k=5)
        kb.encode(["warm-up fact"])
        raw.grade(_warmup_items())
        texts = list(dict.fromkeys(extract_reasoning(r["completion"]) for r in epochs[0]))[:4]
        cfg["facts"]["decomposer"], probe = choose_decomposer(args.decomposer, args.judge, raw, texts)
        repeats = [measure(epochs, raw, kb, cfg, args, tmp / f"repeat{r}") for r in range(args.repeats)]
        identity = raw.identity()
    records = [median_record(list(runs)) for runs in zip(*repeats)]
    result = report(records, epochs, args) | {
        "judge_identity": identity, "decomposer": cfg["facts"]["decomposer"], "decomposer_probe": probe,
        "kb": kb_info, "workload": {
            "prompts": args.prompts, "completions_per_prompt": 10, "mix_per_prompt": dict(MIX),
            "designed_grades": designed, "max_sentences": args.max_sentences, "distractor_articles": args.distractors,
            "questions": [{k: p[k] for k in ("question", "gold", "title", "pages")} for p in prompts]}}
    write_json_atomic(args.out, result)
    print(json.dumps({k: result[k] for k in ("speedup_completions_per_s", "model_call_ratio", "verifier_call_ratio",
                                             "epoch2_cache_hit_rate", "checks_passed")}))
    if not result["checks_passed"]:
        print(f"checks failed: {[k for k, v in result['checks'].items() if not v]}", file=sys.stderr)
        return 1
    return 0


def report(records: list[dict], epochs: list[list[dict]], args: argparse.Namespace) -> dict:
    """Ratios, reward agreement of baseline and project on the same completions, and the checks."""
    from knowrl.artifact import provenance

    base, project = records[0], records[1]
    overlap = [(b, p, row["kind"]) for b, p, row in zip(base["totals"], project["totals"], epochs[0])
               if b is not None and p is not None]
    passed = checks(records, epochs[0], args.judge)
    return {
        "benchmark": "rewards", "seed": args.seed, "threads": args.threads, "judge": args.judge,
        "repeats": args.repeats, "verifier": "embedding (KB embedder, cosine >= 0.6)",
        "records": [{**{k: v for k, v in r.items() if k not in ("totals", "grades")}, **quality(r, epochs[i > 1])}
                    for i, r in enumerate(records)],
        "speedup_completions_per_s": round(project["completions_per_s"] / base["completions_per_s"], 2),
        "judge_item_ratio": round(sum(base["judge_items"].values()) / max(1, sum(project["judge_items"].values())),
                                  2),
        "model_call_ratio": (round(base["model_calls"] / project["model_calls"], 2) if project["model_calls"]
                             else None),
        "verifier_call_ratio": round(base["verifier_calls"] / max(1, project["verifier_calls"]), 2),
        "epoch2_cache_hit_rate": records[2]["cache_hit_rate"],
        "reward_agreement": {"compared": len(overlap),
                             "differing_by_answer_kind": dict(Counter(k for b, p, k in overlap if abs(b - p) > 1e-9)),
                             "max_abs_diff": max((abs(b - p) for b, p, _ in overlap), default=None)},
        "checks": passed, "checks_passed": all(passed.values()),
        "note": "the tiny llama.cpp model grades near chance: its grade counts differ from the design; the rule "
                "grader's check of the workload is the reference. CPU shared, timings noisy (median of the "
                "repeats); calls and counts are not.",
        "provenance": provenance(None, argv=sys.argv[1:], load_avg_1m_end=os.getloadavg()[0]),
    }


def _warmup_items():
    from knowrl.judge import GradeItem

    return [GradeItem("What is the capital of France?", "Paris", "Paris")]


def _line(rec: dict) -> str:
    return (f"{rec['pipeline']} {rec.get('epoch', '')}: {rec['completions']} completions in {rec['seconds']:.1f}s "
            f"({rec['completions_per_s']:.2f}/s), judge items {rec['judge_items']}, facts {rec['fact_pipeline']}, "
            f"stages {rec['stage_seconds']}")


if __name__ == "__main__":
    sys.exit(main())
