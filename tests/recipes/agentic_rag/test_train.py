"""A real TRL GRPO step with search rollouts: the embedded tiny model generating on CPU, the demo KB searched with
BM25, the core's GRPO setup / train / save (sealed output), and TRL reading the environment mask."""

from __future__ import annotations

import pytest

from knowrl.files import read_json, read_jsonl


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_grpo_step_with_search_rollouts(make_config, tmp_path):
    from knowrl.artifact import verify_sums
    from knowrl.recipes.agentic_rag import train

    out = train.main(make_config("agentic_rag.reward.variant=em_format", "grpo.save_merged=false"), out=tmp_path / "run")
    assert verify_sums(out).ok and (out / "adapter" / "adapter_config.json").is_file()
    summary = read_json(out / "summary.json")
    assert summary["global_step"] == 1
    provenance = read_json(out / "provenance.json")
    assert provenance["reward_card"]["recipe"] == "agentic_rag"
    assert provenance["reward_functions"] == ["em_reward", "format_reward"]
    [row] = [r for r in read_jsonl(out / "metrics.jsonl") if "rag/searches" in r]
    for key in ("rag/turns", "rag/completion_tokens", "rag/env_tokens", "time/retrieval_s", "rag/em", "rag/f1"):
        assert key in row, key
    assert 1 <= row["rag/turns"] <= 3 and row["rag/completion_tokens"] <= 80     # turns and the total budget held
    # TRL counts only env_mask=1 tokens as completion length: total - environment tokens = what it logged
    assert row["completions/mean_length"] == pytest.approx(row["rag/completion_tokens"] - row["rag/env_tokens"])
