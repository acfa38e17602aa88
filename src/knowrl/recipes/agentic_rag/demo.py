"""A multi-hop demo set on the demo KB (``knowrl rag demo``): two-hop questions chained from the vital articles.

Hop 1 reads an article's description, hop 2 another article it names (both pages go into the corpus):

- ``capital``: "City in Poland" (Kraków) + Poland's capital -> "What is the capital of the country that Kraków
  belongs to?" -> Warsaw;
- ``creator_birth_year``: "1878 novel by Leo Tolstoy" (Anna Karenina) + Tolstoy's lifespan -> "In what year was
  the creator of Anna Karenina born?" -> 1828.

The second hop reuses the single-hop extractors of the main demo (``knowrl.train.demo``). Questions are split by
bridge page into train and held-out (never trained on); the corpus holds every page the questions need plus
``n_distractors`` other articles (seeded), so search has something to miss. ``manifest.json`` records the counts.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from knowrl.errors import InputError
from knowrl.files import write_json_atomic, write_jsonl_atomic
from knowrl.recipes.agentic_rag import protocol
from knowrl.train.demo import birth_year_question, capital_question, corpus_entries


def _alternation(names: Sequence[str]) -> str:
    return "|".join(sorted(map(re.escape, names), key=len, reverse=True))


def two_hop_questions(entries: Sequence[dict]) -> list[dict]:
    """Every two-hop question the corpus supports, in corpus order."""
    capitals = {e["title"]: q for e in entries if (q := capital_question(e))}
    births = {e["title"]: q for e in entries if (q := birth_year_question(e))}
    country = re.compile(rf"\b(?:in|of)(?: the)? ({_alternation(capitals)})\b")
    creator = re.compile(rf"\bby ({_alternation(births)})\b")
    out = []
    for entry in entries:
        title, description = entry["title"], entry["description"]
        if (m := country.search(description)) and title not in capitals and "capital" not in description.lower():
            second = capitals[m.group(1)]
            if second.answer != title:
                out.append({"family": "capital", "answers": [second.answer], "bridge": title,
                            "pages": [title, second.title], "evidence": [description, second.evidence],
                            "question": f"What is the capital of the country that {title} belongs to?"})
        if m := creator.search(description):
            second = births[m.group(1)]
            out.append({"family": "creator_birth_year", "answers": [second.answer], "bridge": title,
                        "pages": [title, second.title], "evidence": [description, second.evidence],
                        "question": f"In what year was the creator of {title} born?"})
    return out


def coldstart_trace(q: dict) -> str:
    """A protocol trace for the optional cold-start SFT: search the bridge page, then the page it names, answer.
    The ``<information>`` blocks hold the evidence sentences in the rollout's own format (SFT trains on the whole
    assistant turn, so these short blocks are kept to the facts the hops need)."""
    bridge, second = q["pages"]
    need = "the capital of" if q["family"] == "capital" else "the birth year of"
    steps = [f"<think>I need to find out about {bridge} first.</think><search>{bridge}</search>",
             "".join(protocol.observation([(bridge, q["evidence"][0])])),
             f"<think>{bridge} leads to {second}. Now I need {need} {second}.</think><search>{second}</search>",
             "".join(protocol.observation([(second, q["evidence"][1])])),
             f"<think>The answer is {q['answers'][0]}.</think><answer>{q['answers'][0]}</answer>"]
    return "".join(steps).strip()


def make_demo(corpus: str | Path, out_dir: str | Path, n_train: int, n_heldout: int, n_distractors: int,
              seed: int) -> dict:
    """Write ``train.json``, ``heldout.json`` (``{id, question, answers, family, pages}``), ``coldstart.json``
    (ShareGPT protocol traces of the train questions, for the optional SFT), ``corpus.jsonl``
    (``{title, text}``, the description leading each page, as the main demo) and ``manifest.json``."""
    entries = corpus_entries(corpus)
    questions = two_hop_questions(entries)
    if len(questions) < n_train + n_heldout:
        raise InputError(f"{corpus}: only {len(questions)} two-hop questions for {n_train} + {n_heldout} requested")
    rng = random.Random(seed)
    rng.shuffle(questions)
    heldout = questions[:n_heldout]
    held_bridges = {q["bridge"] for q in heldout}
    train = [q for q in questions[n_heldout:] if q["bridge"] not in held_bridges][:n_train]
    for split, rows in (("train", train), ("heldout", heldout)):
        for i, row in enumerate(rows):
            row["id"] = f"{split}-{i:04d}"
    needed = {page for q in train + heldout for page in q["pages"]}
    others = [e for e in entries if e["title"] not in needed]
    pages = [e for e in entries if e["title"] in needed] + rng.sample(others, min(n_distractors, len(others)))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "train.json", train)
    write_json_atomic(out / "coldstart.json", [  # ShareGPT for the core's `knowrl train sft` (optional cold start)
        {"id": q["id"], "conversations": [{"from": "human", "value": protocol.INSTRUCTION.format(question=q["question"])},
                                          {"from": "gpt", "value": coldstart_trace(q)}]} for q in train])
    write_json_atomic(out / "heldout.json", heldout)
    write_jsonl_atomic(out / "corpus.jsonl", ({"title": e["title"], "text": f"{e['description']}. {e['text']}"}
                                              for e in pages))
    manifest = {"seed": seed, "available": len(questions), "train": len(train), "heldout": len(heldout),
                "families": {split: dict(Counter(q["family"] for q in rows))
                             for split, rows in (("train", train), ("heldout", heldout))},
                "corpus_pages": len(pages), "question_pages": len(needed), "distractors": len(pages) - len(needed)}
    write_json_atomic(out / "manifest.json", manifest)
    return manifest
