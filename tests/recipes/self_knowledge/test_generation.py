"""Cutting generated rows into completions with the tiny model's real tokenizer (EOS == pad for SmolLM2)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def tokenizer(make_config):
    from knowrl.train import models

    config = make_config()
    return models.load_tokenizer(models.resolve_policy(config), config)


def test_eos_is_pad(tokenizer):
    assert tokenizer.eos_token_id == tokenizer.pad_token_id  # the case _completion must disambiguate


def test_completion_cuts(tokenizer):
    from knowrl.recipes.self_knowledge.generation import _completion

    def ids(text):
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    eos = tokenizer.eos_token_id
    body = ids('feasible", "answer": null}')
    # (row as generated, stops, max_new_tokens) -> (text, ids kept, truncated)
    stopped = _completion(body + [eos, eos], tokenizer, ["}"], 32)       # stop string, then padding
    assert (stopped.text, stopped.ids, stopped.truncated) == ('feasible", "answer": null}', tuple(body), False)
    ended = _completion(ids("feasible") + [eos, eos], tokenizer, ["}"], 32)  # the model ended its turn
    assert ended.ids == tuple(ids("feasible") + [eos]) and not ended.truncated
    long = ids("feasible because it is a long reply")
    cut = _completion(long, tokenizer, ["}"], len(long))                 # budget used up, no stop, no EOS
    assert cut.truncated and cut.ids == tuple(long)
