"""The multi-turn rollout with a scripted policy: a stub generator that emits known turns (tags, extra text after
a stop tag, EOS) on the real tokenizer, against the real KB (BM25). Checks turn handling, observation insertion,
the loss mask, the total budget, the forced final turn and one batched KB call per round."""

from __future__ import annotations

import dataclasses

import pytest

from knowrl.recipes.agentic_rag import protocol
from knowrl.recipes.agentic_rag.retrieval import KBRetriever
from knowrl.recipes.agentic_rag.rollout import Rollout, render_prompts, summarize, trl_output
from knowrl.recipes.agentic_rag.settings import RagSettings

EOS = "<EOS>"  # stands for the tokenizer's EOS in a script


class ScriptedGenerator:
    """Turn i of row r emits ``scripts[r][i]`` (tokenized; ``<EOS>`` -> the EOS id), cut to the row's cap.
    Records what it emitted, so the test knows exactly which tokens the model wrote."""

    def __init__(self, tokenizer, prompts: list[list[int]], scripts: list[list[str]]):
        self.tokenizer, self.prompts, self.scripts = tokenizer, prompts, scripts
        self.calls = [0] * len(scripts)
        self.rounds: list[int] = []
        self.emitted: list[list[list[int]]] = [[] for _ in scripts]

    def _ids(self, text: str) -> list[int]:
        parts = text.split(EOS)
        ids = []
        for i, part in enumerate(parts):
            ids += self.tokenizer(part, add_special_tokens=False)["input_ids"] if part else []
            ids += [self.tokenizer.eos_token_id] if i < len(parts) - 1 else []
        return ids

    def generate(self, contexts, caps):
        self.rounds.append(len(contexts))
        out = []
        for context, cap in zip(contexts, caps):
            row = next(r for r, p in enumerate(self.prompts) if context[:len(p)] == p)
            script = self.scripts[row]
            text = script[self.calls[row]] if self.calls[row] < len(script) else "<think>out of script</think>"
            self.calls[row] += 1
            out.append((self._ids(text)[:cap], None))
            self.emitted[row].append(out[-1][0])
        return out


SEARCH_POLAND = "<think>Kraków is in Poland.</think><search>Poland capital</search> trailing text the stop drops"
ANSWER = "<think>Warsaw it is.</think><answer>Warsaw</answer>"
# (case, scripted turns, settings overrides, expected: searches, turns, answered, forced, truncated, invalid)
CASES = [
    # search, observation, answer: the text after </search> is cut; the environment adds the EOS after </answer>
    ("search_then_answer", [SEARCH_POLAND, ANSWER], {}, (1, 2, True, False, False, 0)),
    # answering at once: one turn, no observation
    ("direct_answer", [ANSWER + EOS], {}, (0, 1, True, False, False, 0)),
    # no tag at all: a correction note (environment tokens), then the answer
    ("invalid_then_answer", ["<think>hmm</think> Warsaw maybe", ANSWER], {}, (0, 2, True, False, False, 1)),
    # max_turns=2 searches, then the forced final turn: its search is not executed, the rollout ends
    ("forced_final_turn", [SEARCH_POLAND, SEARCH_POLAND, SEARCH_POLAND], {}, (2, 3, False, True, False, 0)),
    # EOS without an answer ends the rollout (no correction)
    ("eos_without_answer", ["<think>no idea</think>" + EOS], {}, (0, 1, False, False, False, 0)),
    # max_turns=0: the first turn is the final one; a search there is not executed
    ("no_turns_left", [SEARCH_POLAND], {"max_turns": 0}, (0, 1, False, False, False, 0)),
    # a small total budget: the observation is cut to what is left, then no room for another turn
    ("budget_cuts_observation", [SEARCH_POLAND, ANSWER], {"budget": 60, "observation_tokens": 200},
     (1, 2, None, False, None, 0)),
]


@pytest.fixture(scope="module")
def retriever(rag_kb):
    kb = KBRetriever.open(str(rag_kb), "bm25", 2)
    yield kb
    kb.close()


@pytest.mark.parametrize("case, script, overrides, expected", CASES, ids=[c[0] for c in CASES])
def test_scripted_rollout(tokenizer, retriever, case, script, overrides, expected):
    settings = dataclasses.replace(RagSettings(max_turns=2, turn_tokens=40, budget=200, observation_tokens=48,
                                               k=2), **overrides)
    prompts = render_prompts(tokenizer, [protocol.prompt_messages("What is the capital of the country that "
                                                                  "Kraków belongs to?")])
    generator = ScriptedGenerator(tokenizer, prompts, [script])
    [t] = Rollout(generator, retriever, tokenizer, settings).run(prompts)
    searches, turns, answered, forced, truncated, invalid = expected
    assert (len(t.searches), t.turns, t.forced, t.invalid) == (searches, turns, forced, invalid)
    if answered is not None:
        assert t.answered is answered and t.truncated is truncated
    assert len(t.mask) == len(t.ids) == len(t.logprobs) <= settings.budget       # masks exactly as long; budget held
    model_text = tokenizer.decode([i for i, m in zip(t.ids, t.mask) if m], skip_special_tokens=True)
    env_text = tokenizer.decode([i for i, m in zip(t.ids, t.mask) if not m], skip_special_tokens=True)
    expected_model = ""
    for ids in generator.emitted[0]:                                 # the model tokens are what it emitted ...
        text = tokenizer.decode(ids, skip_special_tokens=True)
        expected_model += text[:protocol.stop_end(text)] if protocol.stop_end(text) else text
    assert model_text == expected_model and len(generator.emitted[0]) == turns
    assert "trailing text" not in tokenizer.decode(t.ids)                # ... cut after the first stop tag
    assert "<information>" not in model_text and "Doc 1" not in model_text
    assert env_text.count("<information>Doc 1 (Title:") == searches   # one observation per executed search
    assert ("final turn" in env_text) is forced
    assert ("previous action is invalid" in env_text) is bool(invalid)
    if answered:
        assert t.ids[-1] == tokenizer.eos_token_id and t.mask[-1] == 0    # the environment closes the episode


def test_budget_case_is_cut_and_truncated(tokenizer, retriever):
    """The observation that did not fit was cut (counted), and the rollout ended without a second model turn."""
    settings = RagSettings(max_turns=2, turn_tokens=40, budget=60, observation_tokens=200, k=2)
    prompts = render_prompts(tokenizer, [protocol.prompt_messages("Capital of the country of Kraków?")])
    [t] = Rollout(ScriptedGenerator(tokenizer, prompts, [[SEARCH_POLAND, ANSWER]]), retriever, tokenizer,
                  settings).run(prompts)
    assert t.observations_cut == 1 and len(t.ids) <= 60
    assert t.observation_tokens < 200 and t.observation_tokens == sum(1 for m in t.mask if not m) - _tag_tokens(
        tokenizer)


def _tag_tokens(tokenizer) -> int:
    opening, _, closing = protocol.observation([])
    return sum(len(tokenizer(s, add_special_tokens=False)["input_ids"]) for s in (opening, closing))


def test_one_batched_kb_call_per_round(tokenizer, retriever):
    """Three rows searching in the same round reach the KB in one call; the TRL output is aligned per row."""
    settings = RagSettings(max_turns=2, turn_tokens=40, budget=200, observation_tokens=32, k=2)
    questions = ["Q one: Kraków?", "Q two: Poland?", "Q three: nothing?"]
    prompts = render_prompts(tokenizer, [protocol.prompt_messages(q) for q in questions])
    scripts = [[SEARCH_POLAND, ANSWER], [SEARCH_POLAND, ANSWER], [ANSWER + EOS]]
    generator = ScriptedGenerator(tokenizer, prompts, scripts)
    before = dict(retriever.stats)
    runner = Rollout(generator, retriever, tokenizer, settings)
    trajs = runner.run(prompts)
    assert generator.rounds == [3, 2]                               # round 2: only the rows that searched
    assert runner.retrieval_calls == 1 and retriever.stats["calls"] - before["calls"] == 1
    assert retriever.stats["queries"] - before["queries"] == 2
    out = trl_output(trajs)
    assert out["logprobs"] is None                                   # transformers path: TRL recomputes them
    assert [len(m) for m in out["env_mask"]] == [len(c) for c in out["completion_ids"]]
    assert out["searches"] == [1, 1, 0] and out["turns"] == [2, 2, 1]
    assert summarize(trajs)["rag/searches"] == pytest.approx(2 / 3)


def test_per_search_retrieval_is_the_same_result(tokenizer, retriever, rag_kb):
    """batched=False (the benchmark's baseline) returns the same passages, one KB call per search."""
    single = KBRetriever.open(str(rag_kb), "bm25", 2, batched=False)
    try:
        queries = ["Poland capital", "Leo Tolstoy born", "Kraków"]
        assert single.search(queries) == retriever.search(queries)
        assert single.stats["calls"] == 3
    finally:
        single.close()
