"""End to end: the embedded tiny LM (SmolLM2-135M GGUF) on a 20-question SimpleQA fixture, graded by the rule judge.

The tiny model is not expected to be good; the checks are that every stage runs, the figures are consistent with
the per-item records (within tolerance of the definitions) and every output carries provenance and checksums.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowrl.artifact import verify_sums
from knowrl.cli import main
from knowrl.config import load_config
from knowrl.eval.run import run_eval
from knowrl.files import read_jsonl

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]
MODEL_CACHE = REPO / ".cache" / "models"

pytestmark = pytest.mark.slow


def _overrides(avg_k: int) -> list[str]:
    return ["judge.backend=rule", "judge.cache=null", f"model.cache_dir={MODEL_CACHE}",
            "eval.max_new_tokens=32", "eval.batch_size=20", f"eval.avg_k={avg_k}", "eval.bootstrap_samples=200"]


def test_tiny_model_simpleqa_20(tmp_path, tiny_gguf, caplog):
    config = load_config(overrides=_overrides(avg_k=0))
    out = tmp_path / "base" / "simpleqa"
    with caplog.at_level("INFO", logger="knowrl.eval.run"):
        doc = run_eval(config, "simpleqa", model=str(tiny_gguf), out=out, label="base",
                       data=str(FIXTURES / "simpleqa.csv"), n=20)
    tagged = doc["modes"]["main"]["answer_sources"].get("tag", 0)      # the base model writes no <answer> tags
    assert f"well formed (<answer> tag) {tagged} of 20" in caplog.text
    records = list(read_jsonl(out / "items.jsonl"))
    assert len(records) == 20 and {r["mode"] for r in records} == {"main"}
    assert all(r["response"] is not None and r["grade"] in ("CORRECT", "INCORRECT", "NOT_ATTEMPTED") for r in records)
    main_figs = doc["modes"]["main"]["figures"]
    total = sum(main_figs[k]["value"] for k in ("correct", "incorrect", "not_attempted"))
    assert total == pytest.approx(100.0)
    grades = [r["grade"] for r in records if r["mode"] == "main"]
    assert main_figs["incorrect"]["value"] == pytest.approx(100 * grades.count("INCORRECT") / 20)
    for fig in main_figs.values():
        assert fig["ci_low"] - 1e-9 <= fig["value"] <= fig["ci_high"] + 1e-9
    # provenance: model, data and grader identities
    assert doc["model"]["backend"] == "transformers" and doc["model"]["model"]["sha256"]
    assert doc["benchmark"]["sha256"] and doc["benchmark"]["evaluated"] == 20
    assert doc["grader"]["judge"]["backend"] == "rule"
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["config"]["eval"]["max_new_tokens"] == 32 and prov["grader"]["judge"]["backend"] == "rule"
    assert verify_sums(out).ok
    # greedy is deterministic (same responses on a subsample); Avg@2 adds two sampled responses per item
    again = run_eval(load_config(overrides=_overrides(avg_k=2)), "simpleqa", model=str(tiny_gguf),
                     out=tmp_path / "again", label="base", data=str(FIXTURES / "simpleqa.csv"), n=3)
    first = {r["id"]: r["response"] for r in records}
    rerun = list(read_jsonl(tmp_path / "again" / "items.jsonl"))
    assert all(first[r["id"]] == r["response"] for r in rerun if r["mode"] == "main")
    assert [r["sample"] for r in rerun if r["mode"] == "avg@2"] == [0, 1] * 3
    assert again["benchmark"]["evaluated"] == 3 and again["modes"]["avg@2"]["items"] == 3


def test_cli_run_with_adapter_then_regrade_and_table(tmp_path, tiny_gguf):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from knowrl.train.models import resolve_policy

    config = load_config(overrides=_overrides(avg_k=0))
    folder = resolve_policy(config, str(tiny_gguf))
    adapter = tmp_path / "sft_adapter"
    peft_model = get_peft_model(AutoModelForCausalLM.from_pretrained(folder),
                                LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"]))
    peft_model.save_pretrained(adapter)
    sets = [f"--set={o}" for o in _overrides(avg_k=0)]
    run_dir = tmp_path / "sft" / "gpqa"
    assert main(["eval", "run", "--benchmark", "gpqa", "--data", str(FIXTURES / "gpqa_diamond.csv"),
                 "--n", "2", "--model", str(tiny_gguf), "--adapter", str(adapter), "--label", "sft",
                 "--out", str(run_dir), *sets]) == 0
    doc = json.loads((run_dir / "summary.json").read_text())
    assert doc["model"]["adapter"]["adapter_config.json_sha256"]
    assert doc["grader"]["name"] == "letter-exact-match" and list(doc["modes"]) == ["main"]
    assert main(["eval", "regrade", str(run_dir), "--out", str(tmp_path / "regraded"), *sets]) == 0
    assert json.loads((tmp_path / "regraded" / "summary.json").read_text())["modes"] == doc["modes"]
    assert main(["eval", "table", "--run", f"sft={tmp_path / 'sft'}", "--out", str(tmp_path / "tables")]) == 0
    assert "| SFT |" in (tmp_path / "tables" / "results.md").read_text()
