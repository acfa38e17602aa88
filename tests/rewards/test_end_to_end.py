"""End to end on a KB built from a slice of the vital corpus: rule judge + embedding verifier (and the CLI),
then once with the llama.cpp judge doing the decomposition."""

from __future__ import annotations

import json

import pytest

from knowrl.rewards import RewardScorer

QUESTION = "Who wrote Anna Karenina?"
GOLD = "Leo Tolstoy"
TITLES = "Anna Karenina;No Such Page (test)"
COPIED = ("Anna Karenina is a novel, first published in book form in 1878, by the Russian author Leo Tolstoy. "
          "Often considered to be among the greatest works of world literature, Tolstoy himself called it his "
          "first true novel. It was initially released in serial installments from 1875 to 1877.")
MADE_UP = ("Anna Karenina is a cookbook of Italian pasta recipes. It was written by a team of astronauts on the "
           "Moon in 2050. The book describes how to grow tomatoes on Mars.")


def chat(text):
    return [{"role": "assistant", "content": text}]


COMPLETIONS = {
    "correct": f"<think>{COPIED}</think>\n<answer>Leo Tolstoy</answer>",
    "refusal": "<think>I am not sure who wrote it.</think>\n<answer>I don't know.</answer>",
    "wrong_supported": f"<think>{COPIED}</think>\n<answer>Fyodor Dostoevsky</answer>",
    "wrong_made_up": f"<think>{MADE_UP}</think>\n<answer>Fyodor Dostoevsky</answer>",
    "no_answer": f"{COPIED}</think> The author is Tolstoy.",
}


def config(kb_path, tmp_path, **facts):
    return {"reward": {"variant": "code", "log": {"dir": str(tmp_path / "log")}},
            "facts": {"decomposer": "rule", "kb_path": str(kb_path), "cache": {"path": str(tmp_path / "c.sqlite")},
                      **facts},
            "judge": {"backend": "rule", "cache": None}}


def run_like_trl(scorer, completions):
    n = len(completions)
    prompts = [[{"role": "user", "content": QUESTION}]] * n
    cols = {"question": [QUESTION] * n, "answers": [GOLD] * n, "title": [TITLES] * n, "prompt_id": ["p1"] * n}
    per_function = [f(prompts=prompts, completions=completions, **cols) for f in scorer.reward_functions()]
    return [sum(vals) if None not in vals else None for vals in zip(*per_function)]


def test_end_to_end_rule_judge_embedding_verifier(slice_kb, tmp_path):
    scorer = RewardScorer.from_config(config(None, tmp_path), kb=slice_kb)
    names = list(COMPLETIONS)
    totals = dict(zip(names, run_like_trl(scorer, [chat(COMPLETIONS[k]) for k in names])))
    out = {o_name: o for o_name, o in zip(names, scorer._last[1])}
    assert totals["correct"] == 3.0 and totals["refusal"] == 2.0            # METHOD 3.4 table
    supported, made_up = out["wrong_supported"].facts, out["wrong_made_up"].facts
    assert len(supported.facts) >= 3 and supported.titles_missing == ["No Such Page (test)"]
    assert supported.supported / len(supported.verified) > made_up.supported / len(made_up.verified)
    assert 0.0 <= totals["wrong_supported"] <= 1.0 and totals["wrong_supported"] > totals["wrong_made_up"]
    assert -2.0 <= totals["no_answer"] <= -1.0
    assert out["correct"].facts is None and out["refusal"].facts is None   # lazy: no fact work where it can't matter
    passage_ids = {pid for f in supported.facts for pid in f.passage_ids}
    titles = {h.title for h in slice_kb.passages_for_titles(["Anna Karenina"])[0]}
    assert passage_ids and titles == {"Anna Karenina"}
    metrics = scorer.step_metrics()
    assert metrics["reward/completions"] == 5 and metrics["reward/titles_missing"] == 3
    assert json.loads((tmp_path / "log" / "reward_card.json").read_text())["variant"] == "code"
    rows = [json.loads(line) for line in open(tmp_path / "log" / "rewards.jsonl")]
    assert len(rows) == 5 and rows[2]["facts"]["facts"][0]["passage_ids"]


def test_cli_reward_score(slice_kb_path, tmp_path):
    from knowrl.cli import main

    rollouts = tmp_path / "rollouts.jsonl"
    with open(rollouts, "w") as fh:
        for i, (name, text) in enumerate(COMPLETIONS.items()):
            fh.write(json.dumps({"prompt_id": "p1", "question": QUESTION, "answers": GOLD, "title": TITLES,
                                 "completion": text if i % 2 else chat(text)}) + "\n")
    out = tmp_path / "out"
    rc = main(["-q", "reward", "score", "--rollouts", str(rollouts), "--out", str(out), "--batch-size", "3",
               "--set", "judge.backend=rule", "--set", "judge.cache=null", "--set", "facts.decomposer=rule",
               "--set", f"facts.kb_path={slice_kb_path}", "--set", f"facts.cache.path={tmp_path / 'c.sqlite'}"])
    assert rc == 0
    rows = [json.loads(line) for line in open(out / "rewards.jsonl")]
    assert [r["components"]["total"] for r in rows][:2] == [3.0, 2.0]
    card = json.loads((out / "reward_card.json").read_text())
    assert card["kb"]["manifest_sha256"] and card["facts"]["verifier"]["model"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["batches"]) == 2 and (out / "provenance.json").is_file()


@pytest.mark.llamacpp
def test_end_to_end_llamacpp_decomposer(slice_kb, tiny_gguf, tmp_path):
    from knowrl.judge import get_judge

    model = next(tiny_gguf.glob("*.gguf")) if tiny_gguf.is_dir() else tiny_gguf
    judge_cfg = {"backend": "llamacpp", "cache": None, "timeout_s": 300, "log_dir": str(tmp_path / "judge_logs"),
                 "llamacpp": {"model": str(model), "n_threads": 2}}
    with get_judge(judge_cfg) as judge:
        cfg = config(None, tmp_path, decomposer="judge")
        cfg["reward"]["score_facts_for_all"] = True   # whatever the tiny judge grades, decompose both
        scorer = RewardScorer.from_config(cfg, kb=slice_kb, judge=judge)
        texts = [chat(COMPLETIONS["wrong_supported"]), chat(COMPLETIONS["wrong_made_up"])]
        outcomes = scorer.score(None, texts, question=[QUESTION] * 2, answers=[GOLD] * 2, title=[TITLES] * 2)
        for o in outcomes:   # a tiny model decomposes badly, but every completion is scored or says why
            assert o.facts is not None
            assert (o.components["total"] is not None) or o.none_reasons
        assert judge.stats()
        assert scorer.card()["facts"]["decomposer"]["judge"]["backend"] == "llamacpp"
