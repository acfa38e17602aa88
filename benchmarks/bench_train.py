"""Seconds per GRPO step on CPU, split into generation / reward / update, for the embedded tiny model.

Two operating points in the same process and on the same data: the project's reward pipeline (rule judge, atomic
facts, embedding verifier over a demo KB) and a constant reward (the baseline: no reward work at all). The first
step of each run is a warm-up and is excluded. Target: reward share of the step < 20% with the project pipeline.

    python benchmarks/bench_train.py [--steps 3] [--threads 1] [--out benchmarks/results/train.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIMES = ("time/generation_s", "time/reward_s", "time/update_s", "time/step_s")


def constant_reward(completions, **kwargs):
    """Baseline: the same value for every completion (no scoring work)."""
    return [0.0] * len(completions)


def prepare(work: Path, seed: int) -> tuple[dict, Path]:
    """Demo data and a matching small KB (built once per benchmark run)."""
    from knowrl.assets import AssetStore
    from knowrl.kb import KBSettings, build_kb
    from knowrl.train.data import make_demo

    store = AssetStore()
    demo = make_demo(store.path("demo_corpus"), work / "demo", n_sft=8, n_rl=32, seed=seed)
    kb = work / "kb"
    build_kb(demo["corpus"], kb, KBSettings(embedder=str(store.path("embedder"))), show_progress=False)
    return demo, kb


def run_point(name: str, config: dict, demo: dict, out: Path, reward_funcs) -> dict:
    """One GRPO run; per-step times from its metrics file, warm-up step excluded."""
    from knowrl.files import read_jsonl
    from knowrl.train import grpo

    began = time.perf_counter()
    grpo.main(config, demo["rl"], out, reward_funcs=reward_funcs)
    rows = [row for row in read_jsonl(out / "metrics.jsonl") if "loss" in row][1:]
    means = {key.split("/")[1]: statistics.mean(row[key] for row in rows) for key in TIMES}
    return {"point": name, "steps_measured": len(rows), **{k: round(v, 4) for k, v in means.items()},
            "reward_share": round(means["reward_s"] / means["step_s"], 4),
            "completions_per_step": config["grpo"]["per_device_batch_size"] * config["grpo"]["gradient_accumulation_steps"],
            "mean_completion_tokens": round(statistics.mean(r["completions/mean_length"] for r in rows), 2),
            "reward_mean": round(statistics.mean(r["reward"] for r in rows), 4),
            "wall_s": round(time.perf_counter() - began, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3, help="GRPO steps per point (first = warm-up)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: the shared 2-core machines "
                                                                 "oversubscribe with 2)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "train.json"))
    args = parser.parse_args(argv)
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[var] = "1"
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    import torch

    from knowrl.artifact import provenance
    from knowrl.config import load_config
    from knowrl.files import write_json_atomic
    from knowrl.train.grpo import build_rewards

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        work = Path(tmp)
        demo, kb = prepare(work, args.seed)
        config = load_config(profile="smoke", overrides=[
            f"seed={args.seed}", f"model.cache_dir={REPO / '.cache' / 'models'}", f"grpo.max_steps={args.steps}",
            "grpo.save_steps=1000", "grpo.per_device_batch_size=4", "grpo.num_generations=4",
            "grpo.max_completion_length=32", "grpo.report_to=[]", "judge.backend=rule",
            f"judge.cache={work / 'judge.sqlite'}", f"judge.log_dir={work}", "facts.verifier.backend=embedding",
            f"facts.kb_path={kb}"])
        funcs, scorer = build_rewards(config)
        try:
            points = [run_point("project_rewards", config, demo, work / "project", funcs),
                      run_point("constant_reward", config, demo, work / "constant", [constant_reward])]
        finally:
            scorer.close()
    record = provenance(None, benchmark="train_grpo_step", threads=args.threads, seed=args.seed,
                        model="SmolLM2-135M-Instruct (embedded GGUF, fp32)", device="cpu",
                        settings={k: config["grpo"][k] for k in ("per_device_batch_size", "num_generations",
                                                                  "max_completion_length", "beta", "lora")},
                        points=points, target={"reward_share_max": 0.20,
                                               "met": points[0]["reward_share"] < 0.20})
    write_json_atomic(args.out, record)
    print(json.dumps(points, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
