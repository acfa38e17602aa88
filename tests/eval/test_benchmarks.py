"""Benchmark loaders: each public format from a small fixture, and clear errors for broken files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowrl.errors import InputError
from knowrl.eval import load_benchmark, subsample
from knowrl.eval.benchmarks import shuffle_options, split_answers
from knowrl.files import sha256_file

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("name, filename, rows, kind", [
    ("simpleqa", "simpleqa.csv", 20, "qa"),
    ("chinese_simpleqa", "chinese_simpleqa.jsonl", 3, "qa"),
    ("truthfulqa", "truthfulqa.csv", 3, "truthfulqa"),
    ("gpqa", "gpqa_diamond.csv", 3, "mcq"),
    ("aime25", "aime2025.jsonl", 3, "math"),
    ("qa", "qa.json", 2, "qa"),
])
def test_loads_each_format_with_checksum(name, filename, rows, kind):
    bench = load_benchmark(name, FIXTURES / filename)
    assert len(bench) == rows and bench.kind == kind
    assert bench.sha256 == sha256_file(FIXTURES / filename)
    assert bench.identity() == {"name": name, "path": str(FIXTURES / filename), "sha256": bench.sha256, "rows": rows}
    assert all(item.question and item.answer for item in bench)


def test_simpleqa_fields():
    item = load_benchmark("simpleqa", FIXTURES / "simpleqa.csv")[0]
    assert (item.id, item.question, item.answer) == ("simpleqa-0000", "What is the capital of France?", "Paris")
    assert item.meta == {"topic": "Geography", "answer_type": "Place"}


def test_truthfulqa_references():
    item = load_benchmark("truthfulqa", FIXTURES / "truthfulqa.csv")[1]
    # the best answer is not among the correct answers in this row: it is added first
    assert item.meta["correct_answers"][0] == "The precise origin of fortune cookies is unclear"
    assert item.meta["incorrect_answers"] == ["Fortune cookies originated in China", "Fortune cookies originated in Japan"]


def test_gpqa_options_shuffled_with_fixed_seed():
    bench = load_benchmark("gpqa", FIXTURES / "gpqa_diamond.csv")
    again = load_benchmark("gpqa", FIXTURES / "gpqa_diamond.csv")
    assert [i.answer for i in bench] == [i.answer for i in again]
    for item in bench:
        assert item.meta["options"][ord(item.answer) - ord("A")] in ("Newton", "Nitrogen", "Mitochondrion")
        assert f"{item.answer}) {item.meta['options'][ord(item.answer) - 65]}" in item.question
    # different seeds give different orders for some question (4! orders)
    orders = {tuple(shuffle_options("q", "right", ["w1", "w2", "w3"], seed)[0]) for seed in range(10)}
    assert len(orders) > 1


def test_aime_answers_are_integers():
    assert [i.answer for i in load_benchmark("aime25", FIXTURES / "aime2025.jsonl")] == ["2", "42", "9"]


def test_split_answers():
    assert split_answers("a; b;  ;a") == ["a", "b"]


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


@pytest.mark.parametrize("name, filename, content, message", [
    # a column renamed
    ("simpleqa", "s.csv", "meta,problem,answer\n\"{}\",q,a\n", "missing column(s) metadata"),
    # a blank required cell
    ("simpleqa", "s.csv", "metadata,problem,answer\n\"{'topic': 't', 'answer_type': 'x'}\",,a\n",
     "empty value in column(s) problem"),
    # metadata not a Python literal
    ("simpleqa", "s.csv", "metadata,problem,answer\n{topic: t},q,a\n", "not a Python-literal dict"),
    # metadata without answer_type
    ("simpleqa", "s.csv", "metadata,problem,answer\n\"{'topic': 't'}\",q,a\n", "topic and answer_type"),
    # header only
    ("simpleqa", "s.csv", "metadata,problem,answer\n", "no rows"),
    # empty file
    ("truthfulqa", "t.csv", "  \n", "file is empty"),
    # Latin-1 bytes
    ("truthfulqa", "t.csv", "Type,Category,Question\nA,B,caf\xe9\n".encode("latin-1"), "not UTF-8"),
    # GPQA without the third wrong answer
    ("gpqa", "g.csv", "Question,Correct Answer,Incorrect Answer 1,Incorrect Answer 2\nq,a,b,c\n",
     "missing column(s) Incorrect Answer 3"),
    # extra field in a row
    ("gpqa", "g.csv", "Question,Correct Answer,Incorrect Answer 1,Incorrect Answer 2,Incorrect Answer 3\n"
                      "q,a,b,c,d,e\n", "more fields than the header"),
    # AIME answer not an integer
    ("aime25", "a.jsonl", '{"problem": "p", "answer": "3/4"}\n', "must be an integer"),
    # broken JSONL line
    ("aime25", "a.jsonl", '{"problem": "p", "answer": 1}\n{"problem": \n', "a.jsonl:2: invalid JSON"),
    # ChineseSimpleQA without categories
    ("chinese_simpleqa", "c.jsonl", '{"id": 1, "question": "q", "answer": "a"}\n', "missing field(s)"),
    # RL-style JSON with a blank answer
    ("qa", "q.json", '[{"question": "q", "answers": " "}]', "empty value in field(s) answers"),
    # duplicate ids
    ("chinese_simpleqa", "c.jsonl", '{"id": 1, "primary_category": "p", "secondary_category": "s", '
     '"question": "q", "answer": "a"}\n' * 2, "duplicate id"),
])
def test_broken_files_raise_one_line_errors(tmp_path, name, filename, content, message):
    path = _write(tmp_path, filename, content)
    with pytest.raises(InputError, match=re.escape(message)) as info:
        load_benchmark(name, path)
    assert "\n" not in str(info.value)


def test_unknown_benchmark_missing_file_and_checksum(tmp_path):
    with pytest.raises(InputError, match="unknown benchmark"):
        load_benchmark("mmlu", FIXTURES / "qa.json")
    with pytest.raises(InputError, match="not found"):
        load_benchmark("qa", tmp_path / "nope.json")
    with pytest.raises(InputError, match="does not match"):
        load_benchmark("qa", FIXTURES / "qa.json", expected_sha256="0" * 64)
    assert len(load_benchmark("qa", FIXTURES / "qa.json", expected_sha256=sha256_file(FIXTURES / "qa.json"))) == 2


def test_subsample_is_fixed_by_seed_and_keeps_order():
    items = list(load_benchmark("simpleqa", FIXTURES / "simpleqa.csv"))
    first, again = subsample(items, 5, seed=1), subsample(items, 5, seed=1)
    assert [i.id for i in first] == [i.id for i in again] and len(first) == 5
    assert [i.id for i in first] == sorted(i.id for i in first)
    assert [i.id for i in subsample(items, 5, seed=2)] != [i.id for i in first]
    assert subsample(items, None, 1) == items and subsample(items, 99, 1) == items
