"""Training data: RL prompts, cold-start conversations, the demo generator."""

from __future__ import annotations

import json

import pytest

from knowrl.errors import InputError
from knowrl.files import read_json
from knowrl.prompts import SYSTEM_PROMPT
from knowrl.train import data


def test_real_rl_data_becomes_conversational_prompts(rl_data, tokenizer):
    records = data.load_rl_records(rl_data)
    assert len(records) == 3177 and set(records[0]) == {"question", "answers", "title"}
    dataset = data.rl_dataset(records[:20], tokenizer, "default", max_prompt_length=256)
    assert set(dataset.column_names) == {"prompt", "question", "answers", "title"}
    assert dataset[0]["prompt"] == [{"role": "system", "content": SYSTEM_PROMPT},
                                    {"role": "user", "content": records[0]["question"]}]
    paper = data.rl_dataset(records[:3], tokenizer, "paper")
    assert paper[0]["prompt"].endswith("<|im_start|>assistant\n<think>\n")   # rendered text with the prefix


def test_long_prompts_are_dropped_and_counted(rl_data, tokenizer, caplog):
    records = data.load_rl_records(rl_data, max_samples=10)
    dataset = data.rl_dataset(records, tokenizer, max_prompt_length=84)
    assert 0 < len(dataset) < 10 and "longer than max_prompt_length=84" in caplog.text
    with pytest.raises(InputError):
        data.rl_dataset(records, tokenizer, max_prompt_length=8)


def test_bad_records_are_skipped(tmp_path):
    path = tmp_path / "rl.json"
    path.write_text(json.dumps([{"question": "Q?", "answers": ["a", "b"], "title": None}, {"question": ""}, 3]))
    assert data.load_rl_records(path) == [{"question": "Q?", "answers": "a; b", "title": ""}]
    path.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        data.load_rl_records(path)


def test_real_coldstart_traces(coldstart_data):
    pairs = data.load_coldstart(coldstart_data)
    assert len(pairs) == 1798 and pairs[0]["trace"].startswith("<think>")
    assert data.sft_messages(pairs[0])[-1] == {"role": "assistant", "content": pairs[0]["trace"]}


def test_demo_data_is_short_well_formed_and_disjoint(demo_data, tokenizer):
    from knowrl.rewards.format import is_well_formed

    coldstart, rl = read_json(demo_data["coldstart"]), read_json(demo_data["rl"])
    traces = [r["conversations"][1]["value"] for r in coldstart]
    assert all(is_well_formed(t) for t in traces)
    assert max(len(tokenizer(t)["input_ids"]) for t in traces) < 120          # short enough for a tiny CPU model
    sft_questions = {r["conversations"][0]["value"] for r in coldstart}
    assert sft_questions.isdisjoint({r["question"] for r in rl})                # SFT never sees an RL question
    assert all(r["answers"] and r["group"] in ("known", "unknown") for r in rl)   # labelled by probing the base model
    corpus_titles = {json.loads(line)["title"] for line in open(demo_data["corpus"], encoding="utf-8")}
    assert {r["title"] for r in rl} <= corpus_titles                            # the demo KB holds every page
