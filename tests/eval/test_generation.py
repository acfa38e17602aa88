"""Generation plumbing without a model: batching, records per sample, the judge-backend path."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowrl.errors import InputError
from knowrl.eval import load_benchmark
from knowrl.eval.generation import JudgeBackendPolicy, generate_records
from knowrl.prompts import SYSTEM_PROMPT

FIXTURES = Path(__file__).parent / "fixtures"


class EchoGenerator:
    """Stands in for a judge-backend generator: answers with the user turn, records each call."""

    def __init__(self):
        self.calls = []

    def generate(self, prompts, max_tokens, temperature, n=1, seed=None):
        self.calls.append({"size": len(prompts), "temperature": temperature, "n": n, "seed": seed})
        return [[f"<answer>{p[-1]['content']}#{i}</answer>" for i in range(n)] for p in prompts]

    def identity(self):
        return {"backend": "echo"}


@pytest.fixture
def echo_policy(monkeypatch):
    generator = EchoGenerator()
    monkeypatch.setattr("knowrl.judge.get_generator", lambda cfg: generator)
    return JudgeBackendPolicy({"backend": "vllm"}, model="/models/policy")


def test_records_per_item_and_sample_in_batches(echo_policy):
    items = list(load_benchmark("simpleqa", FIXTURES / "simpleqa.csv"))[:5]
    records = generate_records(echo_policy, items, mode="avg@2", max_tokens=8, temperature=0.6, n=2,
                               batch_size=2, variant="default", seed=7)
    calls = echo_policy.generator.calls
    assert [c["size"] for c in calls] == [2, 2, 1] and [c["seed"] for c in calls] == [7, 9, 11]
    assert len(records) == 10 and [r["sample"] for r in records[:2]] == [0, 1]
    first = records[0]
    assert first["response"] == f"<answer>{items[0].question}#0</answer>"
    assert (first["id"], first["gold"], first["mode"], first["kind"]) == (items[0].id, "Paris", "avg@2", "qa")
    assert echo_policy.identity() == {"backend": "judge", "generator": {"backend": "echo"}, "model": "/models/policy"}


def test_policy_prompt_is_method2(echo_policy):
    messages = echo_policy.render("Who wrote Hamlet?", "default")
    assert messages == [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "Who wrote Hamlet?"}]


def test_judge_backend_refuses_adapters(monkeypatch):
    monkeypatch.setattr("knowrl.judge.get_generator", lambda cfg: EchoGenerator())
    with pytest.raises(InputError, match="adapter needs eval.backend=transformers"):
        JudgeBackendPolicy({"backend": "vllm"}, model="m", adapter="a")
