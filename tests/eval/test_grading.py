"""Grading records of every kind (rule judge offline), summaries by mode, and regrade from saved items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowrl.artifact import verify_sums
from knowrl.config import load_config
from knowrl.eval import grading, load_benchmark
from knowrl.eval.run import regrade, write_outputs

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def rule_judge():
    from knowrl.judge import get_judge

    with get_judge({"backend": "rule", "cache": None}) as judge:
        yield judge


def _record(item, response, mode="main", sample=0):
    return {"id": item.id, "kind": item.kind, "question": item.question, "gold": item.answer, "meta": item.meta,
            "mode": mode, "sample": sample, "response": response}


def test_qa_grades_with_rule_judge(rule_judge):
    items = list(load_benchmark("simpleqa", FIXTURES / "simpleqa.csv"))[:4]
    responses = ["<think>capital</think><answer>Paris</answer>",   # correct
                 "<think>x</think><answer>6</answer>",              # incorrect (gold 8)
                 "<think>x</think><answer>I don't know.</answer>",  # refusal -> not attempted
                 "The symbol is Au."]                                # no tags: graded on the raw text
    records = grading.grade_records([_record(i, r) for i, r in zip(items, responses)], rule_judge)
    assert [r["grade"] for r in records] == ["CORRECT", "INCORRECT", "NOT_ATTEMPTED", "CORRECT"]
    assert [r["answer_source"] for r in records] == ["tag", "tag", "tag", "raw"]
    summary = grading.summarize(records, samples=100, seed=0)["main"]
    figs = summary["figures"]
    assert (figs["correct"]["value"], figs["incorrect"]["value"], figs["not_attempted"]["value"]) == (50, 25, 25)
    # c = 0.5, c|attempted = 2/3 -> F = 2 * 0.5 * (2/3) / (0.5 + 2/3) = 4/7
    assert figs["f_score"]["value"] == pytest.approx(400 / 7)
    assert summary["items"] == 4 and summary["ungraded"] == 0


def test_local_kinds():
    tqa = load_benchmark("truthfulqa", FIXTURES / "truthfulqa.csv")[2]  # vampires
    gpqa = load_benchmark("gpqa", FIXTURES / "gpqa_diamond.csv")[0]
    aime = load_benchmark("aime25", FIXTURES / "aime2025.jsonl")[1]      # 42
    wrong = "B" if gpqa.answer != "B" else "C"
    records = grading.grade_records([
        _record(tqa, "<answer>No, vampires are not real</answer>"),
        _record(gpqa, f"<answer>{gpqa.answer}</answer>"),
        _record(gpqa, f"<answer>({wrong})</answer>", sample=1),
        _record(aime, "<answer>\\boxed{42}</answer>"),
        _record(aime, "<answer>forty-two</answer>", sample=1),
    ])
    assert records[0]["scores"]["rouge_acc"] == 1.0 and records[0]["scores"]["rouge_max"] == pytest.approx(100)
    assert [r["scores"]["correct"] for r in records[1:]] == [1.0, 0.0, 1.0, 0.0]
    assert records[4]["scores"]["unparsed"] == 1.0 and records[4]["parsed"] is None


def test_avg_at_k_averages_samples_per_item(rule_judge):
    items = list(load_benchmark("simpleqa", FIXTURES / "simpleqa.csv"))[:2]
    records = [_record(items[0], "<answer>Paris</answer>"), _record(items[1], "<answer>8</answer>")]
    # Avg@2: item 0 right once of two, item 1 right twice -> correct 75%
    records += [_record(items[0], "<answer>Paris</answer>", "avg@2", 0), _record(items[0], "<answer>Lyon</answer>", "avg@2", 1),
                _record(items[1], "<answer>8</answer>", "avg@2", 0), _record(items[1], "<answer>eight</answer>", "avg@2", 1)]
    summary = grading.summarize(grading.grade_records(records, rule_judge), samples=50)
    assert summary["main"]["figures"]["correct"]["value"] == 100
    assert summary["avg@2"]["figures"]["correct"]["value"] == pytest.approx(75.0)
    assert summary["avg@2"]["items"] == 2 and summary["avg@2"]["responses"] == 4


def test_ungraded_records_are_counted_not_scored():
    class FailingJudge:
        def grade(self, items):
            from knowrl.judge import GradeResult

            return [GradeResult(None, "timeout") for _ in items]

    item = load_benchmark("simpleqa", FIXTURES / "simpleqa.csv")[0]
    records = grading.grade_records([_record(item, "<answer>Paris</answer>")], FailingJudge())
    assert records[0]["scores"] is None and records[0]["grade_reason"] == "timeout"
    assert grading.summarize(records)["main"]["ungraded"] == 1


def test_regrade_reproduces_saved_figures(tmp_path, rule_judge):
    items = list(load_benchmark("simpleqa", FIXTURES / "simpleqa.csv"))[:3]
    records = grading.grade_records([_record(i, f"<answer>{i.answer}</answer>") for i in items], rule_judge)
    config = load_config(overrides=["judge.cache=null", "eval.bootstrap_samples=50"])
    summary = grading.summarize(records, samples=50, seed=config["seed"])
    write_outputs(tmp_path / "run", records, summary, config, label="base", benchmark={"name": "simpleqa"})
    assert verify_sums(tmp_path / "run").ok
    doc = regrade(config, tmp_path / "run", tmp_path / "regraded")
    assert doc["modes"] == json.loads((tmp_path / "run" / "summary.json").read_text())["modes"]
    assert doc["label"] == "base" and doc["regraded_from"].endswith("items.jsonl")
    assert verify_sums(tmp_path / "regraded").ok
