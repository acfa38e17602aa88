"""Cold-start SFT on CPU with the real tiny model: outputs, checksums, tamper detection, loss mask, resume."""

from __future__ import annotations

import json
import math
import shutil

import pytest

from knowrl.artifact import verify_sums
from knowrl.errors import InputError
from knowrl.files import read_json, read_jsonl
from tests.train.conftest import StopAfter


def _adapter(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def test_sft_outputs_sealed_and_finite(sft_run):
    summary = read_json(sft_run / "summary.json")
    assert summary["global_step"] == 2
    assert all(math.isfinite(summary[k]) for k in ("first_loss", "last_loss", "train_loss"))
    assert (sft_run / "adapter" / "adapter_model.safetensors").is_file()
    assert (sft_run / "merged" / "config.json").is_file()          # the GRPO start policy
    assert verify_sums(sft_run).ok
    for step in (1, 2):
        checkpoint = sft_run / f"checkpoint-{step}"
        assert verify_sums(checkpoint).ok
        record = read_json(checkpoint / "provenance.json")
        assert record["global_step"] == step and record["stage"] == "sft"
        assert record["config_sha256"] and record["data"]["coldstart_data"]["sha256"]
        assert {"torch", "transformers", "trl", "peft"} <= set(record["packages"])
    rows = list(read_jsonl(sft_run / "metrics.jsonl"))
    assert [r["step"] for r in rows if "loss" in r] == [1, 2]
    assert (sft_run / "metrics.csv").read_text().startswith("step,")
    assert list((sft_run / "tensorboard").glob("events.out.tfevents.*"))


def test_tampered_checkpoint_is_detected_and_refused(sft_run, tmp_path):
    from knowrl.train.checkpoints import resolve_resume

    copy = tmp_path / "run" / "checkpoint-1"
    shutil.copytree(sft_run / "checkpoint-1", copy)
    target = copy / "adapter_model.safetensors"
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF                                                 # flip one bit of the weights
    target.write_bytes(bytes(data))
    report = verify_sums(copy)
    assert not report.ok and report.mismatched == ["adapter_model.safetensors"]
    with pytest.raises(InputError, match="refusing to resume"):
        resolve_resume(copy.parent, "auto")


def test_loss_only_on_the_assistant_turn(tokenizer):
    from knowrl.train.data import tokenize_sft

    pair = {"question": "Which river flows through Paris?", "trace": "<think>\nThe Seine.\n</think>\n<answer>\nSeine\n</answer>"}
    example = tokenize_sft(pair, tokenizer)
    ids, mask = example["input_ids"], example["completion_mask"]
    prompt = tokenizer.decode([i for i, m in zip(ids, mask) if not m])
    completion = tokenizer.decode([i for i, m in zip(ids, mask) if m])
    assert prompt.endswith("<|im_start|>assistant\n") and "Which river" in prompt
    assert completion == pair["trace"] + tokenizer.eos_token       # trace + end of turn carry the loss
    paper = tokenize_sft(pair, tokenizer, "paper")                   # prefix opens <think>: not repeated
    paper_completion = tokenizer.decode([i for i, m in zip(paper["input_ids"], paper["completion_mask"]) if m])
    assert paper_completion.startswith("The Seine.")


def test_resume_continues_the_same_run(sft_run, make_config, demo_data, tmp_path):
    """Stop after step 1, resume: same first-step loss (determinism) and same final state as uninterrupted."""
    from knowrl.train import sft

    out = tmp_path / "run"
    sft.main(make_config(), demo_data["coldstart"], out, callbacks=[StopAfter(1)])
    first = read_json(out / "summary.json")
    reference = read_json(sft_run / "summary.json")
    assert first["global_step"] == 1
    assert first["first_loss"] == pytest.approx(reference["first_loss"], rel=1e-5)
    with pytest.raises(InputError, match="--resume auto"):
        sft.main(make_config(), demo_data["coldstart"], out)           # no silent mixing of runs
    sft.main(make_config(), demo_data["coldstart"], out, resume="auto")
    resumed = read_json(out / "summary.json")
    assert resumed["global_step"] == 2 and resumed["resumed_from"].endswith("checkpoint-1")
    assert resumed["last_loss"] == pytest.approx(reference["last_loss"], rel=1e-4)
    mine, theirs = _adapter(out / "adapter"), _adapter(sft_run / "adapter")
    assert mine.keys() == theirs.keys()
    assert all((mine[k] - theirs[k]).abs().max() < 1e-5 for k in mine)
    assert [r["step"] for r in read_jsonl(out / "metrics.jsonl") if "loss" in r] == [1, 2]
    assert json.loads((out / "provenance.json").read_text())["summary"]["resumed_from"]


def test_resume_under_another_config_is_refused(sft_run, make_config, tmp_path):
    from knowrl.train.checkpoints import resolve_resume

    shutil.copytree(sft_run / "checkpoint-2", tmp_path / "run" / "checkpoint-2")
    assert resolve_resume(tmp_path / "run", "auto", make_config()).name == "checkpoint-2"
    with pytest.raises(InputError, match="different config"):
        resolve_resume(tmp_path / "run", "auto", make_config("sft.learning_rate=0.5"))


def test_resume_if_unchanged_moves_a_stale_run_aside(sft_run, make_config, demo_data, tmp_path):
    """The workflow re-runs a training rule when its settings or inputs changed: the old run is kept aside, never
    resumed (a checkpoint at max_steps would otherwise be sealed again as the new result)."""
    from knowrl.train.checkpoints import file_hashes, resolve_resume

    run = tmp_path / "run"
    shutil.copytree(sft_run / "checkpoint-2", run / "checkpoint-2")
    (run / "metrics.jsonl").write_text("{}\n")
    same = file_hashes({"coldstart_data": demo_data["coldstart"]})
    assert resolve_resume(run, "if-unchanged", make_config(), same).name == "checkpoint-2"
    with pytest.raises(InputError, match="different input data"):
        resolve_resume(run, "auto", make_config(), file_hashes({"coldstart_data": demo_data["rl"]}))

    assert resolve_resume(run, "if-unchanged", make_config("sft.learning_rate=0.5"), same) is None
    assert run.is_dir() and not any(run.iterdir())
    (aside,) = (tmp_path / "run.superseded").iterdir()
    assert sorted(p.name for p in aside.iterdir()) == ["checkpoint-2", "metrics.jsonl"]
    assert resolve_resume(run, "if-unchanged", make_config("sft.learning_rate=0.5"), same) is None  # nothing left


def test_adapter_config_is_canonical_whatever_the_hash_seed(tmp_path):
    """PEFT writes target_modules in set order; sealing sorts them so identical runs seal identical files."""
    import json

    from knowrl.train.checkpoints import seal

    for seed_order, name in ((["v_proj", "q_proj", "o_proj"], "a"), (["o_proj", "q_proj", "v_proj"], "b")):
        folder = tmp_path / name / "adapter"
        folder.mkdir(parents=True)
        (folder / "adapter_config.json").write_text(json.dumps({"r": 8, "target_modules": seed_order}))
        seal(tmp_path / name, {"seed": 1}, stage="sft")
    a, b = ((tmp_path / n / "adapter" / "adapter_config.json").read_bytes() for n in "ab")
    assert a == b and json.loads(a)["target_modules"] == ["o_proj", "q_proj", "v_proj"]
