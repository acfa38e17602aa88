"""Demo data with a knowledge boundary, from the demo corpus and the base model itself (``knowrl data demo``).

KnowRL's effect is that the policy learns where its knowledge ends: it keeps answering what it knows and abstains
where it would guess. To show that with a 135M model on a laptop, the questions must straddle the model's own
boundary, and their pages must be in the KB so the fact reward has evidence to check. The generator:

1. builds factoid questions in three families from the corpus, each with its gold answer, the page that states it
   and that page's sentence saying it: a chemical element's symbol, a country's capital, a person's birth year;
2. probes the base model on every question (``probe_samples`` sampled short answers, graded by the rule grader) and
   labels it ``known`` (accuracy >= ``known_min``), ``unknown`` (accuracy 0) or drops it (in between);
3. splits the labelled questions by page into cold-start SFT traces, RL prompts and a held-out set never trained
   on. SFT traces state the page's sentence in ``<think>`` and the gold in ``<answer>``; a share of them
   (``decline_share`` of each family, chosen at random within it; the real cold-start data has ~9%) decline with
   "I don't know." whatever the label, so that the SFT policy can decline on every family but has not learnt
   *where* to: that is left to GRPO. (Drawn over all traces at once, 6 declines happened to miss the birth years,
   the family the model knows least, and GRPO never sampled a decline there to reinforce.)

Everything is seeded; ``manifest.json`` records the counts per family and label, the probe settings and accuracy,
and the base model's identity.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from knowrl.errors import InputError
from knowrl.files import read_json, read_jsonl, write_json_atomic, write_jsonl_atomic

FAMILIES = ("symbol", "capital", "birth_year")
PROBE_SYSTEM = "Answer with a short answer only."
DECLINE = "I don't know."
OCCUPATIONS = frozenset("""writer physicist poet philosopher mathematician painter composer activist actor filmmaker
polymath politician author architect chemist statesman leader inventor artist actress theologian novelist engineer
pianist psychologist musician theorist scientist director singer explorer historian scholar playwright conductor
journalist photographer revolutionary critic songwriter astronomer officer physician athlete saint biologist
reformer businessman choreographer sculptor essayist diplomat general economist sociologist astronaut emperor king
queen pharaoh pope president monarch ruler conqueror aviator poet-philosopher botanist geologist naturalist""".split())
_ELEMENT = re.compile(r"^Chemical element with atomic number (\d+) \((\w{1,3})\)")
_LIFESPAN = re.compile(r"\((?:born |c\. )?(\d{3,4})\s*[–-]\s*(?:c\. )?\d{3,4}\)")
_CAPITAL = (
    re.compile(r"(?P<city>[A-Z][\w\-]+(?: [A-Z][\w\-]+)?) is (?:the|its) (?:country's |nation's )?capital"),
    re.compile(r"[Tt]he capital(?: city)?(?: and (?:largest|most populous) city)? is (?P<city>[A-Z][\w\-]+"
               r"(?: [A-Z][\w\-]+)?)"),
    re.compile(r"[Ii]ts capital(?: and (?:largest|most populous) city)? is (?P<city>[A-Z][\w\-]+(?: [A-Z][\w\-]+)?)"),
)


@dataclass(frozen=True)
class Question:
    """One demo question: its family, gold answer, the page that states it and that page's sentence."""

    family: str
    question: str
    answer: str
    title: str
    evidence: str


def corpus_entries(path: str | Path) -> list[dict[str, str]]:
    """Demo corpus (dict title -> {extract, description}) or JSONL {title, text, description}."""
    path = Path(path)
    raw = list(read_jsonl(path)) if path.suffix == ".jsonl" else read_json(path)
    items = raw.values() if isinstance(raw, dict) else raw
    entries = []
    for item in items:
        text = item.get("extract") or item.get("text") or ""
        if isinstance(text, list):
            text = " ".join(text)
        if item.get("title") and item.get("description") and len(text) > 40:
            entries.append({"title": item["title"], "text": text, "description": item["description"]})
    return entries


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()]


def _sentence_with(text: str, needle: str) -> str | None:
    return next((s for s in _sentences(text) if needle in s), None)


def element_question(entry: dict) -> Question | None:
    """``What is the chemical symbol of Xenon?`` -> ``Xe`` from the description "Chemical element with atomic
    number 54 (Xe)"; evidence: the lead's sentence naming the symbol, else the description restated.

    >>> element_question({"title": "Xenon", "description": "Chemical element with atomic number 54 (Xe)",
    ...                   "text": "Xenon is a chemical element; it has symbol Xe and atomic number 54."}).answer
    'Xe'
    """
    match = _ELEMENT.match(entry["description"])
    if not match:
        return None
    number, symbol = match.groups()
    evidence = (_sentence_with(entry["text"], f"symbol {symbol}")
                or f"{entry['title']} is a chemical element with the symbol {symbol} and atomic number {number}.")
    return Question("symbol", f"What is the chemical symbol of {entry['title']}?", symbol, entry["title"], evidence)


def capital_question(entry: dict) -> Question | None:
    """``What is the capital of Norway?`` -> the city the lead names as the capital (countries only).

    >>> capital_question({"title": "Norway", "description": "Country in Northern Europe",
    ...                   "text": "Norway is a country. Oslo is the capital and largest city."}).answer
    'Oslo'
    """
    if not re.search(r"\b(?:[Cc]ountry|sovereign state|island nation)\b", entry["description"]):
        return None
    for pattern in _CAPITAL:
        match = pattern.search(entry["text"])
        if match and match.group("city") != entry["title"]:
            city = match.group("city")
            evidence = _sentence_with(entry["text"], match.group(0)) or match.group(0) + "."
            return Question("capital", f"What is the capital of {entry['title']}?", city, entry["title"], evidence)
    return None


def birth_year_question(entry: dict) -> Question | None:
    """``In what year was Edgar Allan Poe born?`` -> the first year of a person's lifespan "(1809–1849)".

    >>> birth_year_question({"title": "Edgar Allan Poe", "description": "American writer (1809–1849)",
    ...                      "text": "Edgar Allan Poe (January 19, 1809 – October 7, 1849) was a writer."}).answer
    '1809'
    """
    match = _LIFESPAN.search(entry["description"])
    role = entry["description"].split("(")[0].strip().rstrip(",")
    if not match or not role or role.lower().split()[-1] not in OCCUPATIONS:
        return None
    year = match.group(1)
    evidence = (_sentence_with(entry["text"], year)
                or f"{entry['title']} ({entry['description'].split('(')[-1].rstrip(')')}) was "
                   f"{'an' if role[0].lower() in 'aeiou' else 'a'} {role}.")
    return Question("birth_year", f"In what year was {entry['title']} born?", year, entry["title"], evidence)


def build_questions(entries: Sequence[dict]) -> list[Question]:
    """Every question the three families can make from the corpus entries, in corpus order."""
    out = []
    for entry in entries:
        for make in (element_question, capital_question, birth_year_question):
            question = make(entry)
            if question is not None:
                out.append(question)
    return out


def probe_model(policy_dir: str | Path, config: dict, questions: Sequence[str], samples: int = 4,
                max_new_tokens: int = 12, batch_size: int = 16, seed: int = 42) -> list[list[str]]:
    """``samples`` sampled short answers (temperature 1) per question from the base model, with a plain
    short-answer prompt: what the model knows before it has learnt the answer format."""
    import torch
    from tqdm import tqdm

    from knowrl.train.models import load_model, load_tokenizer

    tokenizer = load_tokenizer(policy_dir, config)
    tokenizer.padding_side = "left"
    model = load_model(policy_dir, config, "fp32").eval()
    torch.manual_seed(seed)
    answers: list[list[str]] = []
    for start in tqdm(range(0, len(questions), batch_size), desc="probing the base model", unit="batch"):
        batch = questions[start:start + batch_size]
        texts = [tokenizer.apply_chat_template([{"role": "system", "content": PROBE_SYSTEM},
                                                {"role": "user", "content": q}], tokenize=False,
                                               add_generation_prompt=True) for q in batch]
        encoded = tokenizer(texts, return_tensors="pt", padding=True)
        with torch.no_grad():
            out = model.generate(**encoded, do_sample=True, temperature=1.0, top_p=1.0,
                                 max_new_tokens=max_new_tokens, num_return_sequences=samples,
                                 pad_token_id=tokenizer.pad_token_id)
        decoded = tokenizer.batch_decode(out[:, encoded["input_ids"].shape[1]:], skip_special_tokens=True)
        answers += [[d.strip() for d in decoded[i * samples:(i + 1) * samples]] for i in range(len(batch))]
    return answers


def accuracy(question: Question, answers: Sequence[str]) -> float:
    """Share of the probe's answers the rule grader grades CORRECT."""
    from knowrl.judge.rule_grader import rule_grade

    graded = [rule_grade(question.answer, a, question.question)[0].value == "CORRECT" for a in answers]
    return sum(graded) / len(graded) if graded else 0.0


def label(acc: float, known_min: float) -> str | None:
    """known / unknown / None (in between: neither reliably known nor clearly not, dropped)."""
    return "known" if acc >= known_min else "unknown" if acc == 0 else None


def sft_trace(q: Question, decline: bool) -> str:
    """The cold-start trace: the page's sentence as reasoning and the gold, or a decline."""
    if decline:
        return f"<think>\nI do not recall this well enough to answer reliably.\n</think>\n<answer>\n{DECLINE}\n</answer>"
    return f"<think>\n{q.evidence}\n</think>\n<answer>\n{q.answer}\n</answer>"


def _take(rows: list[dict], counts: dict[str, int], rng: random.Random) -> tuple[list[dict], list[dict]]:
    """Up to ``counts[label]`` rows of each label (shuffled), and the rest."""
    taken, rest = [], []
    left = dict(counts)
    for row in rng.sample(rows, len(rows)):
        if left.get(row["group"], 0) > 0:
            taken.append(row)
            left[row["group"]] -= 1
        else:
            rest.append(row)
    return taken, rest


def make_boundary_demo(entries: Sequence[dict], out_dir: str | Path, probe: Callable[[list[str]], list[list[str]]],
                       *, n_sft: int = 64, n_rl: int = 96, n_heldout: int = 120, known_min: float = 0.5,
                       decline_share: float = 0.1, seed: int = 42, identity: dict | None = None,
                       only: set[str] | None = None) -> dict[str, Any]:
    """Write ``coldstart.json``, ``rl.json``, ``heldout.json``, ``corpus.jsonl`` and ``manifest.json``; ``only``
    keeps the questions whose text it holds (a seeded sample per family).

    RL and held-out sets are half known, half unknown where the probe found enough known questions (the rest
    unknown, the known ones shared in proportion); SFT traces come from every other question of the corpus,
    probed or not, evenly across families. Pages never straddle two splits.
    """
    questions = build_questions(entries)
    probed = [q for q in questions if only is None or q.question in only]
    if not probed:
        raise InputError("the corpus yields no demo questions (no element, country or person pages)")
    rows = []
    for q, outs in zip(probed, probe([q.question for q in probed])):
        acc = accuracy(q, outs)
        group = label(acc, known_min)
        if group:
            rows.append({**asdict(q), "group": group, "probe_accuracy": round(acc, 3)})
    rng = random.Random(seed)
    groups = Counter(r["group"] for r in rows)
    heldout, rest = _take(rows, _half(n_heldout, groups, share=n_heldout / (n_heldout + n_rl)), rng)
    rl, _ = _take(rest, _half(n_rl, Counter(r["group"] for r in rest)), rng)
    if len(rl) < n_rl or len(heldout) < n_heldout:
        raise InputError(f"only {len(rows)} labelled demo questions for {n_rl} RL + {n_heldout} held-out "
                         f"({dict(groups)}); lower the sizes or probe more questions per family")
    taken = {r["title"] for r in heldout + rl}
    sft = _stratified([asdict(q) for q in questions if q.title not in taken], n_sft, rng)
    declines = _declines(sft, decline_share, rng)
    out = Path(out_dir)
    write_json_atomic(out / "coldstart.json", [
        {"id": f"demo-{i}", "conversations": [{"from": "human", "value": r["question"]},
                                              {"from": "gpt", "value": sft_trace(Question(**_fields(r)), i in declines)}]}
        for i, r in enumerate(sft)])
    write_json_atomic(out / "rl.json", [_qa(r) for r in rl])
    write_json_atomic(out / "heldout.json", [_qa(r) | {"id": f"heldout-{i:04d}"} for i, r in enumerate(heldout)])
    titles = taken | {r["title"] for r in sft}
    # the description leads each page (it states the symbol or the lifespan the traces and answers rely on)
    write_jsonl_atomic(out / "corpus.jsonl", ({"title": e["title"], "text": f"{e['description']}.\n\n{e['text']}"}
                                              for e in entries if e["title"] in titles))
    manifest = {"seed": seed, "known_min": known_min, "decline_share": decline_share, "model": identity or {},
                "questions": len(questions), "probed": len(probed), "labelled": dict(groups),
                "by_family": {f: dict(Counter(r["group"] for r in rows if r["family"] == f)) for f in FAMILIES},
                "splits": {"sft_by_family": dict(Counter(r["family"] for r in sft)),
                           **{name: dict(Counter(r["group"] for r in split))
                              for name, split in (("rl", rl), ("heldout", heldout))}},
                "sft_declines": len(declines),
                "sft_declines_by_family": dict(Counter(sft[i]["family"] for i in sorted(declines))),
                "pages": len(titles),
                "probe_accuracy_mean": {g: round(sum(r["probe_accuracy"] for r in rows if r["group"] == g)
                                             / max(1, groups[g]), 3) for g in groups}}
    write_json_atomic(out / "manifest.json", manifest)
    return {"coldstart": str(out / "coldstart.json"), "rl": str(out / "rl.json"),
            "heldout": str(out / "heldout.json"), "corpus": str(out / "corpus.jsonl"),
            "n_sft": len(sft), "n_rl": len(rl), "n_heldout": len(heldout), "seed": seed, "manifest": manifest}


def _stratified(rows: list[dict], n: int, rng: random.Random) -> list[dict]:
    """``n`` rows, as evenly across the families as they allow (the cold-start traces need no probe label)."""
    by_family = {f: rng.sample([r for r in rows if r["family"] == f], sum(r["family"] == f for r in rows))
                 for f in FAMILIES}
    chosen: list[dict] = []
    while len(chosen) < n and any(by_family.values()):
        for family in FAMILIES:
            if by_family[family] and len(chosen) < n:
                chosen.append(by_family[family].pop())
    if len(chosen) < n:
        raise InputError(f"only {len(chosen)} questions left for {n} cold-start traces")
    return chosen


def _declines(sft: list[dict], share: float, rng: random.Random) -> set[int]:
    """Indices of the traces that decline: ``share`` of each family's traces (rounded half up), at random within it."""
    chosen: set[int] = set()
    for family in FAMILIES:
        members = [i for i, r in enumerate(sft) if r["family"] == family]
        chosen |= set(rng.sample(members, math.floor(share * len(members) + 0.5)))
    return chosen


def _half(n: int, available: Counter, share: float = 1.0) -> dict[str, int]:
    """Half known, half unknown, as far as the known questions go (their ``share`` of them for this split)."""
    known = min(n // 2, int(available["known"] * share))
    return {"known": known, "unknown": n - known}


def _fields(row: dict) -> dict:
    return {k: row[k] for k in ("family", "question", "answer", "title", "evidence")}


def _qa(row: dict) -> dict:
    return {"question": row["question"], "answers": row["answer"], "title": row["title"], "group": row["group"],
            "family": row["family"]}
