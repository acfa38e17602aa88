"""Seconds per GRPO step on CPU, split into generation / reward / update, at the smoke profile's lengths, on
completions whose rewards vary.

Start policy: the smoke profile's SFT recipe (``knowrl.train.sft``: 40 LoRA steps on the demo cold-start traces)
from the embedded tiny model, so the policy produces the <think>/<answer> format some of the time and the rewards
of a group differ. The demo data, its KB and the SFT output are cached in ``--work`` (keyed by the settings that
shape them) and re-used by later runs. Then two GRPO runs from that policy, in the same process and on the same
data, with the smoke profile's GRPO settings (prompt/completion lengths, group size, batch):
  project_rewards  the configured reward pipeline (rule judge, atomic facts, embedding verifier over the demo KB);
  constant_reward  the baseline: one constant value, no reward work at all.
The first step of each run is a warm-up and is excluded (6 steps: 5 measured). Checks (exit 1 if one fails): the
project run's rewards vary (mean over the measured steps of TRL's recorded reward std > 0; with the smoke batch,
one group of 4 completions per step, a step whose 4 rewards tie has std 0 and is counted in
``zero_std_steps``; varying rewards also mean not every completion sits at the minimum), and each run measured
at least two steps.
Target: the reward share of the step < 20% with the project pipeline.

    python benchmarks/bench_train.py [--threads 1] [--work .cache/bench-train] [--out benchmarks/results/train.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIMES = ("time/generation_s", "time/reward_s", "time/update_s", "time/step_s")
DEMO_SIZES = {"n_sft": 64, "n_rl": 96, "n_heldout": 120}  # what the smoke workflow's `knowrl data demo` writes


def constant_reward(completions, **kwargs):
    """Baseline: the same value for every completion (no scoring work)."""
    return [0.0] * len(completions)


def prepare(config: dict, work_root: Path) -> tuple[dict, Path, Path]:
    """Demo data, its KB and the SFT start policy, built once per setting in ``work_root/<key>/``."""
    from knowrl.assets import AssetStore
    from knowrl.config import config_hash
    from knowrl.kb import KBSettings, build_kb
    from knowrl.train import sft
    from knowrl.files import read_json
    from knowrl.train.demo import corpus_entries, make_boundary_demo

    key = config_hash({"seed": config["seed"], "model": config["model"], "sft": config["sft"], **DEMO_SIZES})[:16]
    work = work_root / key
    store = AssetStore()
    answers = read_json(REPO / "config" / "demo" / "probe-table.json")["answers"]  # the base model's, measured
    demo = make_boundary_demo(corpus_entries(store.path("demo_corpus")), work / "demo",
                              lambda questions: [answers[q] for q in questions], seed=config["seed"],
                              only=set(answers), **DEMO_SIZES)
    if not (work / "kb" / "manifest.json").is_file():
        build_kb(demo["corpus"], work / "kb", KBSettings(embedder=str(store.path("embedder"))), show_progress=False)
    started = time.perf_counter()
    if not (work / "sft" / "SHA256SUMS").is_file():
        shutil.rmtree(work / "sft", ignore_errors=True)  # an interrupted earlier run of this benchmark
        sft.main(config, demo["coldstart"], out=work / "sft")
    demo["sft_s"] = round(time.perf_counter() - started, 2)
    return demo, work / "kb", work / "sft"


def run_point(name: str, config: dict, demo: dict, init: Path, out: Path, reward_funcs=None) -> dict:
    """One GRPO run; per-step times and reward spread from its metrics file, warm-up step excluded."""
    from knowrl.files import read_jsonl
    from knowrl.train import grpo

    began = time.perf_counter()
    grpo.main(config, demo["rl"], out, init=str(init), reward_funcs=reward_funcs)
    rows = [row for row in read_jsonl(out / "metrics.jsonl") if "loss" in row][1:]
    means = {key.split("/")[1]: statistics.mean(row[key] for row in rows) for key in TIMES}
    grpo_cfg = config["grpo"]
    return {"point": name, "steps_measured": len(rows), **{k: round(v, 4) for k, v in means.items()},
            "reward_share": round(means["reward_s"] / means["step_s"], 4),
            "completions_per_step": grpo_cfg["per_device_batch_size"] * grpo_cfg["gradient_accumulation_steps"],
            "mean_completion_tokens": round(statistics.mean(r["completions/mean_length"] for r in rows), 2),
            "max_completion_tokens": max(r["completions/max_length"] for r in rows),
            "reward_mean": round(statistics.mean(r["reward"] for r in rows), 4),
            "reward_std_mean": round(statistics.mean(r["reward_std"] for r in rows), 4),
            "reward_std_per_step": [round(r["reward_std"], 4) for r in rows],
            "zero_std_steps": sum(r["reward_std"] == 0 for r in rows),
            "well_formed_per_step": [r.get("policy/well_formed") for r in rows],
            "reward_components": {k: round(statistics.mean(r[k] for r in rows), 4) for k in rows[0]
                                  if k.startswith("rewards/") and k.endswith("/mean")},
            "wall_s": round(time.perf_counter() - began, 2)}


def grpo_config(args: argparse.Namespace, work: Path, kb: Path | None = None) -> dict:
    """The smoke profile as the workflow runs it, with caches and logs in ``work`` and no TensorBoard."""
    from knowrl.config import load_config

    overrides = [f"seed={args.seed}", f"model.cache_dir={REPO / '.cache' / 'models'}", "grpo.save_steps=1000",
                 "grpo.report_to=[]", "sft.report_to=[]", "judge.backend=rule", f"judge.cache={work / 'judge.sqlite'}",
                 f"judge.log_dir={work}", "facts.verifier.backend=embedding",
                 f"facts.cache.path={work / 'facts.sqlite'}"]
    overrides.append(f"grpo.max_steps={args.steps}")
    if kb is not None:
        overrides.append(f"facts.kb_path={kb}")
    return load_config(profile="smoke", overrides=overrides)


def checks(points: list[dict]) -> dict[str, bool]:
    """The project run's rewards vary over its measured steps; both runs measured at least two steps."""
    return {"rewards_vary": points[0]["reward_std_mean"] > 0,
            "steps_measured": all(p["steps_measured"] >= 2 for p in points)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=6, help="GRPO steps per point, the first a warm-up")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: the shared 2-core machines "
                                                                 "oversubscribe with 2)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", default=str(REPO / ".cache" / "bench-train"),
                        help="cache of the demo data, KB and SFT start policy")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "train.json"))
    args = parser.parse_args(argv)
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[var] = "1"
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    import torch

    from knowrl.artifact import provenance
    from knowrl.files import read_json, write_json_atomic

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        run_dir = Path(tmp)
        demo, kb, sft_out = prepare(grpo_config(args, run_dir), Path(args.work))
        config = grpo_config(args, run_dir, kb)
        points = [run_point("project_rewards", config, demo, sft_out, run_dir / "project"),
                  run_point("constant_reward", config, demo, sft_out, run_dir / "constant", [constant_reward])]
    passed = checks(points)
    sft_summary = read_json(sft_out / "summary.json")
    record = provenance(None, benchmark="train_grpo_step", threads=args.threads, seed=args.seed,
                        argv=sys.argv[1:], load_avg_1m_end=os.getloadavg()[0],
                        model="SmolLM2-135M-Instruct (embedded GGUF, fp32)", device="cpu",
                        profile="smoke", start_policy={"recipe": "smoke sft", "steps": sft_summary["global_step"],
                                                       "first_loss": sft_summary["first_loss"],
                                                       "last_loss": sft_summary["last_loss"],
                                                       "built_s_this_run": demo["sft_s"]},
                        settings={k: config["grpo"][k] for k in ("per_device_batch_size", "num_generations",
                                                                  "max_prompt_length", "max_completion_length",
                                                                  "max_steps", "beta", "lora")},
                        points=points, checks=passed, checks_passed=all(passed.values()),
                        target={"reward_share_max": 0.20, "met": points[0]["reward_share"] < 0.20})
    write_json_atomic(args.out, record)
    print(json.dumps({"points": points, "checks": passed}, indent=2))
    if not all(passed.values()):
        print(f"checks failed: {[k for k, v in passed.items() if not v]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
