"""A real TRL GRPO step on grouped consensus rewards with the tiny model: the stored self-analysis samples of two
tasks go through ``rollout_func``; the test reads the rewards and advantages TRL itself logged."""

from __future__ import annotations

import statistics

import pytest

from knowrl.recipes.self_knowledge.update import step_size

STEP_CASES = [
    # wanted, available tasks, k, gradient accumulation -> tasks per step
    (16, 40, 8, 1, 16),   # enough tasks: as configured
    (16, 5, 8, 1, 5),     # fewer kept tasks than a step: one smaller step
    (4, 3, 4, 8, 2),      # 3 x 4 = 12 is not a multiple of 8: 2 x 4 = 8 is
    (2, 1, 3, 2, 0),      # 1 x 3 cannot be split in 2 micro-batches: no step (the loop skips the update)
]


@pytest.mark.parametrize(("wanted", "available", "k", "accumulation", "expected"), STEP_CASES)
def test_step_size(wanted, available, k, accumulation, expected):
    assert step_size(wanted, available, k, accumulation) == expected

F_A = ['feasible", "answer": "4"}', 'feasible", "answer": "four"}', 'feasible", "answer": null}',
       'infeasible", "answer": null}']                         # task a: majority feasible -> 1, 1, 1, 0
B = ['infeasible", "reason": "live data"}', 'infeasible", "reason": "no access"}', 'infeas',
     'feasible", "reason": "easy"}']                           # task b: majority infeasible (unparseable 0) -> 1, 1, 0, 0
EXPECTED = dict(zip(F_A + B, [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0]))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_grpo_step_on_grouped_consensus_rewards(make_config, tmp_path):
    from peft import get_peft_model_state_dict

    from knowrl.recipes.self_knowledge.generation import Sample
    from knowrl.recipes.self_knowledge.prompts import analysis_prompt
    from knowrl.recipes.self_knowledge.settings import SelfKnowledgeSettings
    from knowrl.recipes.self_knowledge.update import TrainGroup, load_policy, update_policy

    config = make_config("self_knowledge.update.prompts_per_step=2")
    settings = SelfKnowledgeSettings.from_config(config)
    policy = load_policy(config)
    tok = policy.tokenizer

    def stored(texts):
        return tuple(Sample(t, tuple(tok(t, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]), False)
                     for t in texts)

    groups = [TrainGroup("a", analysis_prompt(tok, "What is 2 + 2?"), stored(F_A)),
              TrainGroup("b", analysis_prompt(tok, "What is the weather in Oslo right now?"), stored(B))]
    before = {k: v.detach().clone() for k, v in get_peft_model_state_dict(policy.model).items()}
    record = update_policy(policy, config, settings, groups, tmp_path / "update", iteration=1)

    trainer = policy.trainer
    completions = list(trainer._logs["completion"])
    rewards = list(trainer._logs["rewards"]["consensus_reward"])
    advantages = list(trainer._logs["advantages"])
    assert sorted(completions) == sorted(EXPECTED)                       # TRL trained on exactly the stored samples
    assert rewards == [EXPECTED[c] for c in completions]                 # grouped by task, whatever the order
    # scale_rewards=batch: (reward - its group's mean) / (std over the whole batch + 1e-4), groups contiguous
    std = statistics.stdev(rewards)
    means = {c: (0.75 if c in F_A else 0.5) for c in completions}
    assert advantages == pytest.approx([(r - means[c]) / (std + 1e-4) for c, r in zip(completions, rewards)],
                                       abs=1e-4)
    assert record["steps"] == 1 and sorted(record["served"]) == ["a", "b"] and record["left_out"] == 0
    assert record["parse"] == {"parsed": 7, "unparseable/invalid_json": 1}
    after = get_peft_model_state_dict(policy.model)
    assert any(not (after[k] == before[k]).all() for k in before)        # the LoRA weights moved
    assert trainer.args.scale_rewards == "batch" and trainer.args.beta == pytest.approx(1e-4)
    assert not list((tmp_path / "update").glob("checkpoint-*"))           # the loop seals iterations, not TRL
