"""Training across processes on CPU: two gloo ranks under ``accelerate launch`` (config/accelerate/cpu.yaml), real
TRL steps on the tiny model, compared with one process running the same global batch.

Tolerances: SFT losses and gradient norms rel. 1e-5 (measured ~1e-7: the two layouts sum the same per-token losses
in a different order); adapter weights abs. 2e-4 after two AdamW steps at lr 1e-3 (measured 8e-5: Adam rescales
tiny gradient differences; a different batch moves weights by ~1e-3). GRPO losses are not compared step for step:
TRL seeds each rank's sampler differently (``set_seed(seed, device_specific=True)``), so two processes sample other
completions than one process does; what must match is the data (the same prompts per step, as many completions),
each completion scored once, and the rewards TRL trains on equal to the ones the ranks logged.
~4.5 min on 2 cores (SFT ~2 min, GRPO ~2.5 min).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from knowrl.artifact import verify_sums
from knowrl.files import read_json, read_jsonl
from knowrl.rewards.log import RewardLog
from knowrl.train import launch
from tests.train.conftest import brevity_reward

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def _rows(run: Path) -> list[dict]:
    return [row for row in read_jsonl(run / "metrics.jsonl") if "loss" in row]


def _write_config(config: dict, path: Path) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=True))
    return path


def _run(argv: list[str], timeout: int = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return proc


def _two_process_grpo(config_file: Path, data, init, out: Path, resume: str | None = None):
    """``accelerate launch`` of the GRPO rank entry point on two CPU ranks, as `knowrl train grpo` launches."""
    settings = launch.LaunchSettings(processes=2, strategy="cpu")
    program = ["-m", "tests.train.dist_grpo", str(config_file), str(data), str(init), str(out),
               *([resume] if resume else [])]
    command = launch.launch_command(program, settings, "cpu", 0)
    env = {**os.environ, **launch.launch_env("cpu", None), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return proc


def _sealed_with_both_ranks(checkpoint: Path) -> None:
    """Sealed once both ranks wrote their part: the checksums cover rank 1's RNG state, and verify."""
    assert verify_sums(checkpoint).ok
    listed = (checkpoint / "SHA256SUMS").read_text()
    assert "rng_state_0.pth" in listed and "rng_state_1.pth" in listed
    assert len(list(checkpoint.glob("adapter_model*.safetensors"))) == 1   # one copy of the weights, not per rank


def test_two_process_sft_matches_one_process_and_resumes(tmp_path, make_config, demo_data):
    """`knowrl train sft` with train.processes=2 (2 ranks x 1 per device x 2 accumulation) vs one process with
    2 per device x 2 accumulation: same global batch of 4, same tokens, same losses; resume under two processes."""
    from safetensors.torch import load_file

    from knowrl.train import sft

    two = make_config("train.processes=2", "sft.per_device_batch_size=1", "sft.gradient_accumulation_steps=2")
    config_file = _write_config(two, tmp_path / "two.yaml")
    out = tmp_path / "two"
    proc = _run([sys.executable, "-m", "knowrl", "train", "sft", "--data", str(demo_data["coldstart"]),
                 "--out", str(out), "--config", str(config_file)])
    assert "launching 2 cpu process(es)" in proc.stderr and "accelerate.commands.launch" in proc.stderr
    one_out = sft.main(make_config("sft.per_device_batch_size=2", "sft.gradient_accumulation_steps=2"),
                       demo_data["coldstart"], tmp_path / "one")

    summary, reference = read_json(out / "summary.json"), read_json(one_out / "summary.json")
    assert (summary["processes"], summary["global_batch"]) == (2, 4)                  # 2 x 1 x 2
    assert (reference["processes"], reference["global_batch"]) == (1, 4)              # 1 x 2 x 2
    rows, ref_rows = _rows(out), _rows(one_out)
    assert [r["step"] for r in rows] == [r["step"] for r in ref_rows] == [1, 2]
    for row, ref in zip(rows, ref_rows):
        assert row["num_input_tokens_seen"] == ref["num_input_tokens_seen"]          # the same examples
        assert row["loss"] == pytest.approx(ref["loss"], rel=1e-5)
        assert row["grad_norm"] == pytest.approx(ref["grad_norm"], rel=1e-5)
    mine, theirs = (load_file(str(run / "adapter" / "adapter_model.safetensors")) for run in (out, one_out))
    weight_gap = max(float((mine[k] - theirs[k]).abs().max()) for k in mine)
    print("SFT step: loss 2 processes / 1 process, grad norm, tokens seen; adapter max |diff| "
          f"{weight_gap:.2e}", *[(r["step"], r["loss"], ref["loss"], r["grad_norm"], ref["grad_norm"],
                                  r["num_input_tokens_seen"]) for r, ref in zip(rows, ref_rows)], sep="\n")
    assert weight_gap < 2e-4
    for step in (1, 2):
        _sealed_with_both_ranks(out / f"checkpoint-{step}")
    assert read_json(out / "checkpoint-1" / "provenance.json")["config"]["train"]["processes"] == 2
    assert verify_sums(out).ok

    # resume: a copy of checkpoint-1 alone, continued by two processes, reproduces step 2
    resumed = tmp_path / "resumed"
    shutil.copytree(out / "checkpoint-1", resumed / "checkpoint-1")
    _run([sys.executable, "-m", "knowrl", "train", "sft", "--data", str(demo_data["coldstart"]), "--out", str(resumed),
          "--resume", "--config", str(config_file)])
    again = _rows(resumed)
    assert [r["step"] for r in again] == [2]
    assert again[0]["loss"] == pytest.approx(rows[1]["loss"], rel=1e-5)
    assert again[0]["num_input_tokens_seen"] == rows[1]["num_input_tokens_seen"]
    assert read_json(resumed / "summary.json")["resumed_from"].endswith("checkpoint-1")
    assert verify_sums(resumed).ok


def _records_by_step(reward_dir: Path) -> dict[int, list[dict]]:
    steps = defaultdict(list)
    for record in RewardLog.read_all(reward_dir):
        steps[record["step"]].append(record)
    return dict(steps)


def test_two_process_grpo_scores_each_completion_once_and_resumes(tmp_path, make_config, demo_data, sft_run):
    """Two ranks x 2 completions per step (2 prompts x 2 generations): every completion scored once, by the rank
    that generated it, into that rank's reward log; the logged rewards are the ones TRL trained on; the same prompts
    per step as one process with 4 per device; checkpoints sealed once; resume reproduces step 2."""
    from knowrl.train import grpo

    facts_cache = f"facts.cache.path={tmp_path / 'facts.sqlite'}"
    two = make_config("train.processes=2", "grpo.per_device_batch_size=2", facts_cache,
                      f"reward.log.dir={tmp_path / 'two-rewards'}")
    config_file = _write_config(two, tmp_path / "two.yaml")
    out = tmp_path / "two"
    _two_process_grpo(config_file, demo_data["rl"], sft_run, out)

    summary = read_json(out / "summary.json")
    assert (summary["processes"], summary["global_batch"]) == (2, 4)
    by_step = _records_by_step(tmp_path / "two-rewards")
    assert sorted(by_step) == [0, 1]                                   # trainer_state.global_step while scoring
    files = {p.name for p in (tmp_path / "two-rewards").glob("rewards*.jsonl")}
    assert files == {"rewards.jsonl", "rewards.rank1.jsonl"}          # one writer per file
    rows = _rows(out)
    for row, (step, records) in zip(rows, sorted(by_step.items())):
        assert len(records) == 4                                       # global batch, not 4 per process
        assert {r["rank"] for r in records} == {0, 1} and sum(r["rank"] == 1 for r in records) == 2
        per_prompt = defaultdict(int)
        for r in records:
            per_prompt[r["prompt_id"]] += 1
        assert sorted(per_prompt.values()) == [2, 2]                   # 2 prompts x 2 generations
        assert row["reward/completions"] == 4                          # the scorer's counts, merged over ranks
        facts = [len(r["facts"]["facts"] or []) for r in records if r["facts"] is not None]
        assert row["reward/facts_per_completion"] == pytest.approx(sum(facts) / len(facts))  # both ranks' facts
        logged = sum(r["components"]["total"] for r in records) / 4
        trained = row["rewards/format_reward/mean"] + row["rewards/combined_reward/mean"]
        assert trained == pytest.approx(logged, abs=1e-6)              # what TRL gathered = what the ranks scored
        assert row["grad_norm"] > 0                                    # real updates (brevity reward spread)
        print(f"GRPO step {row['step']}: {len(records)} completions scored (rank 0: "
              f"{sum(r['rank'] == 0 for r in records)}, rank 1: {sum(r['rank'] == 1 for r in records)}), "
              f"logged mean reward {logged:.4f} = trained {trained:.4f}, loss {row['loss']:.3g}")
    for step in (1, 2):
        _sealed_with_both_ranks(out / f"checkpoint-{step}")
    assert (tmp_path / "two-rewards" / "reward_card.json").is_file()

    # one process, 4 per device: the same global batch takes the same prompts in each step
    one = make_config("grpo.per_device_batch_size=4", facts_cache, f"reward.log.dir={tmp_path / 'one-rewards'}")
    grpo.main(one, demo_data["rl"], tmp_path / "one", init=str(sft_run), extra_reward_funcs=[brevity_reward])
    one_steps = _records_by_step(tmp_path / "one-rewards")
    assert sorted(one_steps) == sorted(by_step)
    for step, records in by_step.items():
        assert sorted(r["prompt_id"] for r in records) == sorted(r["prompt_id"] for r in one_steps[step])

    # resume from a copy of checkpoint-1 under two processes: each rank's RNG state comes back, so step 2 samples
    # the same completions and trains the same update
    resumed = tmp_path / "resumed"
    shutil.copytree(out / "checkpoint-1", resumed / "checkpoint-1")
    _two_process_grpo(config_file, demo_data["rl"], sft_run, resumed, resume="auto")   # same config: same hash
    again = _rows(resumed)
    assert [r["step"] for r in again] == [2]
    for key in ("loss", "reward", "completions/mean_length", "grad_norm", "kl"):
        assert again[0][key] == pytest.approx(rows[1][key], rel=1e-4, abs=1e-7), key
    assert verify_sums(resumed).ok and read_json(resumed / "summary.json")["resumed_from"].endswith("checkpoint-1")
