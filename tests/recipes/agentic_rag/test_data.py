"""Loaders on fixtures in each public layout, skipped rows counted by reason; the demo generator."""

from __future__ import annotations

import json
import re

import pytest

from knowrl.errors import InputError
from knowrl.recipes.agentic_rag.data import load_questions
from knowrl.recipes.agentic_rag.demo import two_hop_questions

SEARCH_R1_PROMPT = ("Answer the given question. ... For example, <answer> Beijing </answer>. "
                    "Question: who wrote anna karenina?\n")
# (layout, file suffix, rows, expected records, expected skipped)
CASES = [
    # Knowledge-R1's 2WikiMultihopQA: problem + golden_answers (list), one row without answers
    ("knowledge_r1", ".json",
     [{"problem": "Who is older?", "golden_answers": ["A", "a."]}, {"problem": "No gold?", "golden_answers": []}],
     [{"id": "0", "question": "Who is older?", "answers": ["A", "a."]}], {"no_answer": 1}),
    # Search-R1 JSONL: the question is the tail of the user prompt; the gold is reward_model.ground_truth.target
    ("search_r1", ".jsonl",
     [{"data_source": "nq", "prompt": [{"role": "user", "content": SEARCH_R1_PROMPT}],
       "reward_model": {"style": "rule", "ground_truth": {"target": ["Leo Tolstoy"]}},
       "extra_info": {"split": "test", "index": 7}}],
     [{"id": "7", "question": "who wrote anna karenina?", "answers": ["Leo Tolstoy"]}], {}),
    # FlashRAG / Search-R1 raw JSONL: question + golden_answers
    ("flashrag", ".jsonl", [{"id": "q1", "question": "Capital of Peru?", "golden_answers": ["Lima"]}],
     [{"id": "q1", "question": "Capital of Peru?", "answers": ["Lima"]}], {}),
    # the project's own {question, answers}: a string answer; an unknown row and a blank question skipped
    ("knowrl", ".json",
     [{"question": "Capital of Peru?", "answers": "Lima"}, {"text": "?"}, {"question": " ", "answers": "x"}],
     [{"id": "0", "question": "Capital of Peru?", "answers": ["Lima"]}], {"unknown_layout": 1, "no_question": 1}),
]


@pytest.mark.parametrize("layout, suffix, rows, expected, skipped", CASES, ids=[c[0] for c in CASES])
def test_loaders(tmp_path, layout, suffix, rows, expected, skipped):
    path = tmp_path / f"data{suffix}"
    path.write_text("\n".join(map(json.dumps, rows)) if suffix == ".jsonl" else json.dumps(rows))
    records, report = load_questions(path)
    assert records == expected
    assert dict(report.skipped) == skipped and report.layouts[layout] == len(expected)


def test_search_r1_parquet(tmp_path):
    """The Search-R1 parquet layout (nested prompt and reward_model columns) reads like its JSONL."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"prompt": [{"role": "user", "content": SEARCH_R1_PROMPT}],
             "reward_model": {"style": "rule", "ground_truth": {"target": ["Leo Tolstoy", "Tolstoy"]}},
             "extra_info": {"split": "test", "index": 3}}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "test.parquet")
    records, _ = load_questions(tmp_path / "test.parquet")
    assert records == [{"id": "3", "question": "who wrote anna karenina?", "answers": ["Leo Tolstoy", "Tolstoy"]}]


def test_nothing_usable_is_an_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"problem": "x", "golden_answers": []}]))
    with pytest.raises(InputError, match="no usable question records"):
        load_questions(path)


def test_two_hop_questions():
    entries = [  # a bridge page naming a country / a creator, and the second-hop pages
        {"title": "Kraków", "description": "City in Poland", "text": "Kraków is a city in Poland."},
        {"title": "Poland", "description": "Country in Central Europe", "text": "Warsaw is the capital of Poland."},
        {"title": "Anna Karenina", "description": "1878 novel by Leo Tolstoy", "text": "A novel."},
        {"title": "Leo Tolstoy", "description": "Russian writer (1828–1910)", "text": "Tolstoy (1828–1910) wrote."},
    ]
    got = {q["question"]: (q["answers"], q["pages"]) for q in two_hop_questions(entries)}
    assert got == {"What is the capital of the country that Kraków belongs to?": (["Warsaw"], ["Kraków", "Poland"]),
                   "In what year was the creator of Anna Karenina born?": (["1828"], ["Anna Karenina", "Leo Tolstoy"])}


def test_demo_splits(rag_demo):
    """Held-out bridges never appear in train; every question's pages are in the corpus."""
    train = json.loads((rag_demo / "train.json").read_text())
    heldout = json.loads((rag_demo / "heldout.json").read_text())
    titles = {json.loads(line)["title"] for line in (rag_demo / "corpus.jsonl").read_text().splitlines()}
    assert len(train) == 8 and len(heldout) == 4
    assert not {q["bridge"] for q in train} & {q["bridge"] for q in heldout}
    assert all(page in titles for q in train + heldout for page in q["pages"])


def test_coldstart_traces_follow_the_protocol(rag_demo):
    """One ShareGPT trace per train question: two searches (bridge page, then the page it names), well formed,
    answering the gold answer; the human turn is the rollout's own instruction."""
    from knowrl.recipes.agentic_rag import protocol
    from knowrl.recipes.agentic_rag.rewards import final_answer, well_formed

    train = json.loads((rag_demo / "train.json").read_text())
    traces = json.loads((rag_demo / "coldstart.json").read_text())
    assert [t["id"] for t in traces] == [q["id"] for q in train]
    for q, t in zip(train, traces):
        human, gpt = (turn["value"] for turn in t["conversations"])
        assert human == protocol.INSTRUCTION.format(question=q["question"])
        assert well_formed(gpt) and final_answer(gpt) == q["answers"][0]
        assert [m for m in re.findall(r"<search>(.*?)</search>", gpt)] == q["pages"]
