"""The iteration loop end to end on the tiny model (one small iteration), resume, tamper refusal, and the base vs
trained evaluation with its table."""

from __future__ import annotations

import pytest

from knowrl.errors import InputError
from knowrl.files import read_json, read_jsonl

DECISIONS = {"keep", "unanimous", "tie", "near_tie", "no_parseable", "below_band", "above_band", "duplicate",
             "near_heldout", "prompt_too_long", "unbalanced", "unparseable/empty", "unparseable/too_long", "unparseable/not_a_task"}
SIZES = ["self_knowledge.iterations=1", "self_knowledge.tasks_per_iteration=2", "self_knowledge.samples=3",
         "self_knowledge.few_shot=2", "self_knowledge.update.prompts_per_step=1",
         "self_knowledge.introspection.max_new_tokens=16", "self_knowledge.analysis.max_new_tokens=24"]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_loop_resume_and_eval(make_config, tmp_path):
    from knowrl.artifact import verify_sums
    from knowrl.recipes.self_knowledge import loop, report

    config, out = make_config(*SIZES), tmp_path / "run"
    summary = loop.run(config, out)

    assert summary["iterations"] == [1] and summary["final_iteration"] in (0, 1)
    folder = out / "iterations" / "001"
    assert verify_sums(folder).ok and verify_sums(out).ok
    records = list(read_jsonl(folder / "tasks.jsonl"))
    assert [r["intended_label"] for r in records] == ["feasible", "infeasible"]   # balanced by construction
    assert {r["decision"] for r in records} <= DECISIONS
    it = read_json(folder / "summary.json")
    analysed = [r for r in records if "labels" in r]
    for r in analysed:                                  # k labels per analysed task, consensus as recorded
        assert len(r["labels"]) == 3 and r["pool"] in {"added", "low_consensus", "disagrees_with_intended",
                                                        "no_majority", "pool_full"}
    assert sum(it["label_counts"].values()) == 3 * len(analysed)
    kept = [r["id"] for r in records if r["decision"] == "keep"]
    assert it["decisions"].get("keep", 0) == len(kept)
    if kept:  # a GRPO update ran on the kept groups: the served tasks are flagged
        assert sorted(it["update"]["served"]) == sorted(kept) == sorted(r["id"] for r in records if r["trained"])
    assert set(it["guard"]) == {"accuracy", "f1_infeasible", "f1_feasible", "macro_f1", "unparseable"}
    assert [g["iteration"] for g in read_json(out / "state.json")["guard"]] == [0, 1]  # base, then iteration 1

    with pytest.raises(InputError, match="--resume"):
        loop.run(config, out)                           # never silently mixed with an earlier run
    assert loop.run(config, out, resume=True)["iterations"] == [1]   # nothing left to do
    with pytest.raises(InputError, match="different config"):
        loop.run(make_config(*SIZES, "self_knowledge.samples=4"), out, resume=True)

    # extended by one iteration: continues from iteration 1's adapter and pool, iteration 1 untouched
    sums_1 = (folder / "SHA256SUMS").read_text()
    pool_1 = [r["id"] for r in read_jsonl(folder / "pool.jsonl")]
    summary = loop.run(make_config(*SIZES, "self_knowledge.iterations=2"), out, resume=True)
    assert summary["iterations"] == [1, 2] and (folder / "SHA256SUMS").read_text() == sums_1
    pool_2 = [r["id"] for r in read_jsonl(out / "iterations" / "002" / "pool.jsonl")]
    assert pool_2[:len(pool_1)] == pool_1
    assert [g["iteration"] for g in read_json(out / "state.json")["guard"]] == [0, 1, 2]
    assert all(r["id"].startswith("it002-") for r in read_jsonl(out / "iterations" / "002" / "tasks.jsonl"))

    config = make_config(*SIZES, "self_knowledge.iterations=2")
    result = report.main(config, out, tmp_path / "eval")
    assert set(result["heldout"]) == {"base", "trained"} and result["n_items"] == 4
    for figures in result["heldout"].values():
        assert figures["accuracy"]["ci_low"] <= figures["accuracy"]["value"] <= figures["accuracy"]["ci_high"]
    table = (tmp_path / "eval" / "table.md").read_text()
    assert "| Base |" in table and "| trained |" in table and "F1 infeasible" in table
    assert (tmp_path / "eval" / "heldout.png").stat().st_size > 0 and verify_sums(tmp_path / "eval").ok
    assert len(list(read_jsonl(tmp_path / "eval" / "items-trained.jsonl"))) == 4

    (out / "iterations" / "002" / "pool.jsonl").write_text("tampered\n")   # what a resume would start from
    with pytest.raises(InputError, match="checksums"):
        loop.run(config, out, resume=True)
