"""The scorer: one computation shared by the reward functions, failures isolated to their completion, the
per-completion log with rotation, step aggregates and the reward card."""

from __future__ import annotations

import json

import pytest

from knowrl.rewards import RewardScorer, RewardSettings
from knowrl.rewards.log import RewardLog
from tests.rewards.conftest import FakeJudge, ScriptedFacts, completion, make_scorer


def columns(n, gold="Paris", title="Paris"):
    return {"question": ["Capital of France?"] * n, "answers": [gold] * n, "title": [title] * n}


def test_reward_functions_share_one_computation(fake_judge):
    scorer = make_scorer("paper", judge=fake_judge)
    texts = [completion("facts:1/2", "Paris"), completion("facts:0/1", "Lyon")]
    funcs = scorer.reward_functions()
    assert [f.__name__ for f in funcs] == ["format_reward", "correctness_reward", "factuality_reward"]
    results = [f(prompts=None, completions=texts, **columns(2)) for f in funcs]
    assert results == [[1.0, 1.0], [2.0, -1.0], [0.5, 0.0]]
    assert fake_judge.calls["grade"] == 1 and scorer.batches == 1   # three functions, one judge call


def test_code_variant_functions_and_lazy_facts(fake_judge):
    facts = ScriptedFacts()
    scorer = make_scorer("code", judge=fake_judge, facts=facts)
    assert [f.__name__ for f in scorer.reward_functions()] == ["format_reward", "combined_reward"]
    texts = [completion("facts:1/1", "Paris"), completion("facts:1/1", "I don't know."),
             completion("facts:10/10", "Lyon")]
    scorer.score(None, texts, **columns(3))
    assert len(facts.requests) == 1 and facts.requests[0].text == "facts:10/10"  # only the wrong answer
    assert facts.requests[0].titles == "Paris"


def test_conversational_and_prompt_question():
    judge = FakeJudge({"Paris": "CORRECT"})
    scorer = make_scorer("code", judge=judge)
    prompts = [[{"role": "system", "content": "sys"}, {"role": "user", "content": "Capital of France?"}]]
    comps = [[{"role": "assistant", "content": completion("facts:0/0", "Paris")}]]
    [o] = scorer.score(prompts, comps, answers=["Paris"], title=["Paris"])
    assert o.components["total"] == 3.0


def test_dead_judge_affects_only_judged_completions():
    scorer = make_scorer("code", judge=FakeJudge(fail=TimeoutError("judge timed out")))
    texts = [completion("facts:0/0", "Paris"), completion("facts:0/0", "I don't know."), "no format at all"]
    out = scorer.score(None, texts, **columns(3))
    assert out[0].components["total"] is None and "judge_error" in out[0].none_reasons[0]
    assert out[1].components["total"] == 2.0               # plain refusal needs no judge
    assert out[2].components["total"] == -2.0              # no answer needs no judge (no facts: r_fact 0)
    metrics = scorer.step_metrics()
    assert metrics["reward/unscorable"] == 1 and metrics["reward/unscorable/grade/judge_error"] == 1
    assert metrics["reward/unscorable_fraction"] == 1 / 3
    funcs = scorer.reward_functions()                        # as TRL calls them: None from every function
    assert [f(prompts=None, completions=texts, **columns(3))[0] for f in funcs] == [None, None]


def test_unparseable_grade_affects_only_that_completion():
    scorer = make_scorer("code", judge=FakeJudge({"Paris": "CORRECT", "maybe": None}))
    out = scorer.score(None, [completion("x", "maybe"), completion("x", "Paris")], **columns(2))
    assert out[0].components["combined"] is None and out[0].grade.reason.startswith("unparseable")
    assert out[1].components["combined"] == 2.0
    assert scorer.step_metrics()["reward/unparseable"] == 1


def test_failed_decomposition_affects_only_that_completion(fake_judge):
    scorer = make_scorer("code", judge=fake_judge)
    out = scorer.score(None, [completion("facts:fail", "Lyon"), completion("facts:2/4", "Lyon")], **columns(2))
    assert out[0].components["total"] is None and "decomposition_failed" in out[0].none_reasons[0]
    assert out[1].components["total"] is not None


def test_missing_gold_is_unscored_not_zero(fake_judge):
    scorer = make_scorer("code", judge=fake_judge)
    [o] = scorer.score(None, [completion("x", "Paris")], question=["q"], answers=[None], title=[None])
    assert o.components["total"] is None and o.none_reasons == ["grade: no_gold_answer"]


def test_log_records_and_rotation(tmp_path, fake_judge):
    settings = RewardSettings.from_config({"reward": {"log": {"dir": str(tmp_path), "rotate_mb": 0.002}}})
    scorer = RewardScorer(settings, fake_judge, ScriptedFacts(), reward_log=RewardLog(tmp_path, 0.002))
    for _ in range(5):
        scorer.score(None, [completion(f"facts:{i}/4", "Lyon") for i in range(5)], **columns(5))
    files = scorer.log.files()
    assert len(files) > 1 and (tmp_path / "rewards.jsonl") in files        # rotated, current file kept
    rows = [json.loads(line) for f in files for line in open(f)]
    assert len(rows) == 25
    rec = rows[0]
    assert {"prompt_id", "answer", "grade", "components", "facts", "timings", "none_reasons"} <= set(rec)
    assert rec["facts"]["facts"][0]["passage_ids"] == [0]


def test_step_metrics(fake_judge):
    scorer = make_scorer("code", judge=fake_judge)
    texts = [completion("facts:0/0", "Paris")] * 2 + [completion("facts:2/4", "Lyon"),
                                                       completion("facts:0/0", "I don't know.")]
    cols = columns(4)
    cols["prompt_id"] = ["a", "a", "b", "b"]
    scorer.score(None, texts, **cols)
    m = scorer.step_metrics()
    assert m["reward/completions"] == 4 and m["reward/refusal_rate"] == 0.25
    assert m["reward/zero_spread_group_fraction"] == 0.5      # group a: 3, 3; group b: differs
    assert m["reward/facts_per_completion"] == 4 and m["reward/support_rate"] == 0.5
    assert m["reward/format/mean"] == 1.0 and m["reward/seconds"] >= 0
    assert scorer.step_metrics()["reward/completions"] == 0   # reset after each call


def test_card(fake_judge):
    from knowrl.rewards.card import reward_card
    from knowrl.rewards.functions import EmptyKB

    scorer = RewardScorer.from_config({"reward": {"variant": "june"}, "facts": {"decomposer": "rule"}},
                                      kb=EmptyKB(), judge=fake_judge)
    card = reward_card(scorer)
    assert card["variant"] == "june" and card["values"]["june_fact_cap"] == 15
    assert card["judge"] == {"backend": "fake"} and card["kb"]["manifest_sha256"] == "empty"
    assert card["facts"]["verifier"]["backend"] == "embedding" and card["facts"]["verifier"]["threshold"] == 0.6
    assert card["reward_functions"] == ["format_reward", "combined_reward"]
    assert card["rules"]["format"].startswith("format-")
    assert card["facts"]["support_measure"] == "embedding-similarity (proxy, not entailment)"
    assert card["settings"]["failed_fact"] == "unscored"


def test_fact_pipeline_crash_affects_only_fact_scored_completions(fake_judge):
    class Broken:
        def score(self, requests):
            raise OSError("KB file vanished")

    scorer = make_scorer("code", judge=fake_judge, facts=Broken())
    out = scorer.score(None, [completion("x", "Paris"), completion("x", "Lyon")], **columns(2))
    assert out[0].components["total"] == 3.0
    assert out[1].components["total"] is None and "pipeline_error: OSError" in out[1].none_reasons[0]


def test_cli_rejects_rollouts_without_completion(tmp_path, capsys):
    from knowrl.cli import main

    rollouts = tmp_path / "r.jsonl"
    rollouts.write_text('{"question": "q", "answers": "a", "title": null}\n')
    rc = main(["reward", "score", "--rollouts", str(rollouts), "--out", str(tmp_path / "out")])
    assert rc == 2 and "has no 'completion'" in capsys.readouterr().err


def test_step_metrics_report_each_component_spread(fake_judge):
    scorer = make_scorer("code", judge=fake_judge, length_penalty_gamma=1)    # gamma 1: no penalty from n = 1
    texts = [completion("facts:1/2", "Lyon"), completion("facts:2/2", "Lyon"), completion("facts:0/2", "Lyon")]
    scorer.score(None, texts, **columns(3))
    m = scorer.step_metrics()
    assert m["reward/fact/mean"] == pytest.approx(0.5)                          # r_fact 0.5, 1.0, 0.0
    assert m["reward/fact/std"] == pytest.approx((0.5 / 3) ** 0.5)              # population std of the step
    assert m["reward/format/std"] == 0.0
