"""Demo data with a knowledge boundary: question families from corpus entries (table), labels from probe answers,
splits by page, cold-start declines, the corpus of the pages, and `knowrl data demo` from a probe table."""

from __future__ import annotations

import json

import pytest

from knowrl.train.demo import (DECLINE, accuracy, birth_year_question, build_questions, capital_question,
                               element_question, label, make_boundary_demo, sft_trace)

ELEMENT = {"title": "Xenon", "description": "Chemical element with atomic number 54 (Xe)",
           "text": "Xenon is a chemical element; it has symbol Xe and atomic number 54. It is a noble gas."}
COUNTRY = {"title": "Norway", "description": "Country in Northern Europe",
           "text": "Norway is a Nordic country. Oslo is the capital and largest city. It has fjords."}
PERSON = {"title": "Edgar Allan Poe", "description": "American writer (1809–1849)",
          "text": "Edgar Allan Poe was an American writer, poet and critic."}

FAMILY_CASES = [
    # (maker, entry, expected (question, answer) or None)
    (element_question, ELEMENT, ("What is the chemical symbol of Xenon?", "Xe")),
    (element_question, {**ELEMENT, "description": "Noble gas"}, None),                 # no element description
    (capital_question, COUNTRY, ("What is the capital of Norway?", "Oslo")),
    (capital_question, {**COUNTRY, "text": "Its capital is Oslo."}, ("What is the capital of Norway?", "Oslo")),
    (capital_question, {**COUNTRY, "description": "City in Norway"}, None),             # not a country
    (capital_question, {**COUNTRY, "text": "Norway has fjords."}, None),                # no capital stated
    (birth_year_question, PERSON, ("In what year was Edgar Allan Poe born?", "1809")),
    (birth_year_question, {**PERSON, "description": "Dynasty of China (1368–1644)"}, None),  # not a person
    (birth_year_question, {**PERSON, "description": "American writer"}, None),          # no lifespan
]


@pytest.mark.parametrize("maker, entry, expected", FAMILY_CASES)
def test_question_families(maker, entry, expected):
    q = maker(entry)
    assert (None if q is None else (q.question, q.answer)) == expected
    if q is not None:
        assert q.title == entry["title"] and q.answer in q.evidence  # the trace's reasoning states the answer


@pytest.mark.parametrize("acc, expected", [(1.0, "known"), (0.5, "known"), (0.25, None), (0.0, "unknown")])
def test_label(acc, expected):
    assert label(acc, 0.5) == expected


def test_accuracy_grades_the_probe_answers_with_the_rule_grader():
    q = element_question(ELEMENT)
    assert accuracy(q, ["Xe", "The chemical symbol of Xenon is Xe.", "X", "I don't know"]) == 0.5


def test_traces_state_the_evidence_or_decline():
    q = element_question(ELEMENT)
    assert sft_trace(q, False) == f"<think>\n{q.evidence}\n</think>\n<answer>\nXe\n</answer>"
    assert sft_trace(q, True).endswith(f"<answer>\n{DECLINE}\n</answer>")


def _corpus(n: int) -> list[dict]:
    """n element pages (symbols E0.. ; the stand-in probe 'knows' the even ones) and n people."""
    entries = []
    for i in range(n):
        entries.append({"title": f"Element{i}", "description": f"Chemical element with atomic number {i + 1} (E{i})",
                        "text": f"Element{i} is a chemical element; it has symbol E{i}."})
        entries.append({"title": f"Person {i}", "description": f"Greek philosopher ({1000 + i}–{1050 + i})",
                        "text": f"Person {i} was a philosopher."})
    return entries


def known_even_elements(questions: list[str]) -> list[list[str]]:
    """A stand-in probe (test double): right on even-numbered elements, 'no idea' on everything else."""
    out = []
    for q in questions:
        number = q.rstrip("?").split("Element")[-1]
        out.append([f"E{number}"] * 4 if "symbol" in q and int(number) % 2 == 0 else ["no idea"] * 4)
    return out


def test_make_boundary_demo_splits_by_page_and_balances(tmp_path):
    result = make_boundary_demo(_corpus(60), tmp_path, known_even_elements, n_sft=20, n_rl=30, n_heldout=40,
                                decline_share=0.25, seed=3)
    rl = json.loads((tmp_path / "rl.json").read_text())
    heldout = json.loads((tmp_path / "heldout.json").read_text())
    coldstart = json.loads((tmp_path / "coldstart.json").read_text())
    asked = [{r["question"] for r in rl}, {r["question"] for r in heldout},
             {c["conversations"][0]["value"] for c in coldstart}]
    assert not (asked[0] & asked[1] or asked[0] & asked[2] or asked[1] & asked[2])  # one page, one split
    assert {r["group"] for r in heldout} == {"known", "unknown"}
    # 30 known questions, fewer than half of RL + held-out: shared in proportion (40 of 70 -> 17 held out)
    assert sum(r["group"] == "known" for r in heldout) == 17 and sum(r["group"] == "known" for r in rl) == 13
    assert all(r["family"] == "symbol" for r in heldout if r["group"] == "known")
    declines = [c for c in coldstart if c["conversations"][1]["value"].endswith(f"{DECLINE}\n</answer>")]
    assert len(coldstart) == 20 and len(declines) == 6      # decline_share of each family: 3 of 10 (2.5 rounded up)
    assert result["manifest"]["sft_declines_by_family"] == {"symbol": 3, "birth_year": 3}
    corpus = [json.loads(line) for line in (tmp_path / "corpus.jsonl").read_text().splitlines()]
    assert {r["title"] for r in rl} <= {c["title"] for c in corpus}
    assert corpus[0]["text"].startswith("Chemical element with atomic number")  # the description leads the page
    manifest = result["manifest"]
    assert manifest["labelled"] == {"known": 30, "unknown": 90} and manifest["splits"]["heldout"]["known"] == 17
    again = tmp_path / "again"
    make_boundary_demo(_corpus(60), again, known_even_elements, n_sft=20, n_rl=30, n_heldout=40,
                       decline_share=0.25, seed=3)
    assert (again / "rl.json").read_bytes() == (tmp_path / "rl.json").read_bytes()   # seeded


def test_too_few_questions_is_a_clear_error(tmp_path):
    from knowrl.errors import InputError

    with pytest.raises(InputError, match="labelled demo questions for 30 RL"):
        make_boundary_demo(_corpus(10), tmp_path, known_even_elements, n_sft=5, n_rl=30, n_heldout=40)


def test_build_questions_on_the_demo_corpus(demo_corpus):
    from knowrl.train.demo import corpus_entries

    questions = build_questions(corpus_entries(demo_corpus))
    families = {q.family for q in questions}
    assert families == {"symbol", "capital", "birth_year"}
    assert sum(q.family == "symbol" for q in questions) >= 90      # the vital articles hold ~all elements
