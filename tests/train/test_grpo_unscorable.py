"""A completion the reward cannot score carries no reward in TRL: a real GRPOTrainer step on the tiny model.

The group's completions are scripted (TRL's ``rollout_func``), so each one's grade is known; the judge is the real
``openai`` backend talking to a stand-in grading server that fails (HTTP 500) for exactly one of them. The test
reads what TRL itself computed - the per-function rewards and the advantages it logged - not a re-derivation from
the project's reward code.
"""

from __future__ import annotations

import math

import pytest

from knowrl.files import read_jsonl
from tests.judge.grading_server import GradingServer

QUESTION, GOLD, TITLE = "What is the capital of France?", "Paris", "Paris"
# (completion, what TRL must see as format + combined); None = unscorable: every reward function returns None
SCRIPT = [
    ("<think>Paris is the capital of France.</think><answer>Paris</answer>", 3.0),  # well formed, CORRECT: 1 + 2
    ("<think>Not sure.</think><answer>I don't know.</answer>", 2.0),                 # well formed, abstains: 1 + 1
    ("<think>Hmm.</think><answer>Lyon</answer>", 0.0),         # well formed, INCORRECT, no facts: 1 + (-1 + 0)
    ("<think>Hmm.</think><answer>UNSCORABLE Marseille</answer>", None),  # its judge call fails (HTTP 500)
    ("Paris?", -2.0),                                          # no tags: -1 + (-1 + 0: no facts in "Paris?")
]


def scripted_rollout(tokenizer):
    """TRL rollout_func: the chat-templated prompt, then SCRIPT's completions in order (one per prompt row)."""
    def rollout(prompts, trainer):
        prompt_ids, completion_ids = [], []
        for prompt, (text, _) in zip(prompts, SCRIPT, strict=True):
            rendered = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
            prompt_ids.append(tokenizer(rendered, add_special_tokens=False)["input_ids"])
            completion_ids.append(tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id])
        return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": None}

    return rollout


@pytest.mark.timeout(300)
def test_unscorable_completion_gets_no_reward_and_no_advantage(make_config, policy_dir, tmp_path, monkeypatch):
    from knowrl.rewards import RewardScorer
    from knowrl.train import data, grpo, models

    monkeypatch.setenv("KNOWRL_TEST_JUDGE_KEY", "test-key")
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func is how the group is scripted
    with GradingServer(fail_marker="UNSCORABLE") as url:
        config = make_config(
            "grpo.num_generations=5", "grpo.per_device_batch_size=5", "grpo.gradient_accumulation_steps=1",
            "grpo.max_steps=1", "grpo.save_steps=100", "facts.decomposer=rule",
            "judge.backend=openai", f"judge.base_url={url}", "judge.model=stand-in",
            "judge.api_key_env=KNOWRL_TEST_JUDGE_KEY", "judge.retries=0", "judge.breaker_threshold=100",
            f"judge.cache={tmp_path / 'judge.sqlite'}", f"reward.log.dir={tmp_path / 'rewards'}")
        tokenizer = models.load_tokenizer(policy_dir, config)
        tokenizer.padding_side = "left"
        dataset = data.rl_dataset([{"question": QUESTION, "answers": GOLD, "title": TITLE}], tokenizer,
                                  config["model"]["prompt_variant"], config["grpo"]["max_prompt_length"])
        scorer = RewardScorer.from_config(config)
        try:
            trainer = grpo.trainer_class()(
                model=models.load_model(policy_dir, config, config["grpo"]["precision"]),
                reward_funcs=scorer.reward_functions(), args=grpo.grpo_args(config, tmp_path / "out"),
                train_dataset=dataset, processing_class=tokenizer,
                peft_config=models.lora_config(config["grpo"]["lora"]), scorer=scorer,
                rollout_func=scripted_rollout(tokenizer))
            trainer.train()
        finally:
            scorer.close()

    names = list(trainer._logs["rewards"])
    assert names == ["format_reward", "combined_reward"]
    per_function = {name: list(trainer._logs["rewards"][name]) for name in names}
    advantages = list(trainer._logs["advantages"])
    completions = [c[0]["content"] if isinstance(c, list) else c for c in trainer._logs["completion"]]
    assert completions == [text for text, _ in SCRIPT]               # TRL scored exactly the scripted group

    for row, (_, expected) in enumerate(SCRIPT):
        values = [per_function[name][row] for name in names]
        if expected is None:
            assert all(math.isnan(v) for v in values), values         # None from every function: TRL masks it
            assert advantages[row] == 0.0                             # no learning signal, in either direction
        else:
            assert sum(values) == pytest.approx(expected), (row, values)

    # the group baseline is taken over the four scorable completions only (a 0 for the fifth would shift it)
    scored = [expected for _, expected in SCRIPT if expected is not None]
    mean = sum(scored) / len(scored)
    std = math.sqrt(sum((r - mean) ** 2 for r in scored) / (len(scored) - 1))
    scale = std + 1e-4 if trainer.args.scale_rewards != "none" else 1.0
    expected_adv = [0.0 if e is None else (e - mean) / scale for _, e in SCRIPT]
    assert advantages == pytest.approx(expected_adv, abs=1e-4)

    # counted in the step's metrics and logged per completion with its reason
    step = next(row for row in trainer.state.log_history if "reward/unscorable" in row)
    assert step["reward/unscorable"] == 1 and step["reward/unscorable/grade/failed"] == 1
    records = list(read_jsonl(tmp_path / "rewards" / "rewards.jsonl"))
    unscorable = [r for r in records if r["components"]["total"] is None]
    assert [r["answer"] for r in unscorable] == ["UNSCORABLE Marseille"]
    assert unscorable[0]["none_reasons"][0].startswith("grade: failed: http_5xx")
    assert trainer.state.global_step == 1
