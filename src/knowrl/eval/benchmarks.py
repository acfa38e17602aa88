"""Benchmark loaders: user-staged files in their public formats, validated, checksummed, as uniform items.

Every loader returns a :class:`Benchmark` (a sequence of :class:`Item`) carrying the file's sha256. Problems in
the file (not UTF-8, wrong columns, blank required fields, bad values) raise :class:`InputError` naming the file
and row. Item ``kind`` decides grading: ``qa`` (judge grades), ``truthfulqa`` (BLEU/ROUGE vs references),
``mcq`` (letter accuracy), ``math`` (exact integer match).
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import json
import logging
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowrl.errors import InputError
from knowrl.files import sha256_bytes

log = logging.getLogger(__name__)

LETTERS = "ABCD"
GPQA_SHUFFLE_SEED = 0
MCQ_INSTRUCTION = ("Choose the one correct option. The final answer must be only its letter, "
                   "for example <answer>B</answer>.")
# Row counts of the public releases; a different count is logged (a subset or another release), not an error.
FULL_SIZES = {"simpleqa": 4326, "truthfulqa": 817, "gpqa": 198, "aime25": 30, "chinese_simpleqa": 3000}


@dataclass(frozen=True)
class Item:
    """One benchmark question. ``question`` is what the policy sees (GPQA: with its lettered options)."""

    id: str
    question: str
    answer: str
    kind: str
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question, "answer": self.answer, "kind": self.kind,
                "meta": self.meta}

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "Item":
        return cls(str(row["id"]), row["question"], str(row["answer"]), row["kind"], dict(row.get("meta") or {}))


@dataclass(frozen=True)
class Benchmark(Sequence):
    """Validated items of one benchmark file, with the identity (name, path, sha256, rows) for provenance."""

    name: str
    path: str
    sha256: str
    items: tuple[Item, ...]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index):  # type: ignore[override]
        return self.items[index]

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    @property
    def kind(self) -> str:
        return self.items[0].kind

    def identity(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "sha256": self.sha256, "rows": len(self.items)}


# ----------------------------------------------------------------------------------------------- reading


def _read_text(path: Path) -> tuple[str, str]:
    """(text, sha256) of a UTF-8 file (a BOM is accepted); other encodings are an InputError."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"benchmark file not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"benchmark path is a folder, expected a file: {path}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                         "re-save it as UTF-8") from None
    if not text.strip():
        raise InputError(f"{path}: file is empty")
    return text, sha256_bytes(data)


def _csv_rows(path: Path, text: str, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of a CSV whose header has every ``required`` column; blank required cells are errors."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(header) or 'none'}")
    reader.fieldnames = header
    for row in reader:
        if all(not (v or "").strip() for k, v in row.items() if k is not None):
            continue  # a fully blank line
        if None in row:
            raise InputError(f"{path}:{reader.line_num}: more fields than the header has columns")
        blank = [c for c in required if not (row.get(c) or "").strip()]
        if blank:
            raise InputError(f"{path}:{reader.line_num}: empty value in column(s) {', '.join(blank)}")
        yield reader.line_num, {k: (v or "").strip() for k, v in row.items()}


def _json_records(path: Path, text: str) -> Iterator[tuple[int, dict]]:
    """(line or index, object) from a JSON array or a JSONL file."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: invalid JSON at line {exc.lineno} ({exc.msg})") from None
        rows = enumerate(data, 1)
    else:
        rows = ((n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip())
    for where, row in rows:
        if isinstance(row, str):
            try:
                row = json.loads(row)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{where}: invalid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise InputError(f"{path}:{where}: expected a JSON object, got {type(row).__name__}")
        yield where, row


def _require_fields(path: Path, where: int, row: dict, fields: Sequence[str]) -> None:
    missing = [f for f in fields if f not in row]
    if missing:
        raise InputError(f"{path}:{where}: missing field(s) {', '.join(missing)}; found {', '.join(row) or 'none'}")
    blank = [f for f in fields if row[f] is None or (isinstance(row[f], str) and not row[f].strip())]
    if blank:
        raise InputError(f"{path}:{where}: empty value in field(s) {', '.join(blank)}")


# ----------------------------------------------------------------------------------------------- formats


def _simpleqa(path: Path, text: str) -> list[Item]:
    items = []
    for i, (line, row) in enumerate(_csv_rows(path, text, ("metadata", "problem", "answer"))):
        try:
            meta = ast.literal_eval(row["metadata"])
        except (ValueError, SyntaxError):
            raise InputError(f"{path}:{line}: metadata is not a Python-literal dict: {row['metadata'][:60]!r}") from None
        if not isinstance(meta, dict) or not {"topic", "answer_type"} <= set(meta):
            raise InputError(f"{path}:{line}: metadata must be a dict with topic and answer_type")
        items.append(Item(f"simpleqa-{i:04d}", row["problem"], row["answer"], "qa",
                          {"topic": meta["topic"], "answer_type": meta["answer_type"]}))
    return items


def _chinese_simpleqa(path: Path, text: str) -> list[Item]:
    fields = ("id", "primary_category", "secondary_category", "question", "answer")
    items = []
    for where, row in _json_records(path, text):
        _require_fields(path, where, row, fields)
        items.append(Item(str(row["id"]), str(row["question"]).strip(), str(row["answer"]).strip(), "qa",
                          {"primary_category": row["primary_category"],
                           "secondary_category": row["secondary_category"]}))
    return items


def split_answers(field_text: str) -> list[str]:
    """TruthfulQA reference list: ``"a; b;  ;a"`` -> ``["a", "b"]`` (strip, drop blanks, dedupe, keep order)."""
    seen: dict[str, None] = {}
    for part in field_text.split(";"):
        if part.strip():
            seen.setdefault(part.strip(), None)
    return list(seen)


def _truthfulqa(path: Path, text: str) -> list[Item]:
    columns = ("Type", "Category", "Question", "Best Answer", "Correct Answers", "Incorrect Answers", "Source")
    items = []
    for i, (line, row) in enumerate(_csv_rows(path, text, columns[:-1])):
        correct = split_answers(row["Correct Answers"])
        if row["Best Answer"] not in correct:
            correct.insert(0, row["Best Answer"])
        incorrect = split_answers(row["Incorrect Answers"])
        if not incorrect:
            raise InputError(f"{path}:{line}: Incorrect Answers has no answer")
        items.append(Item(f"truthfulqa-{i:03d}", row["Question"], row["Best Answer"], "truthfulqa",
                          {"type": row["Type"], "category": row["Category"], "source": row.get("Source", ""),
                           "correct_answers": correct, "incorrect_answers": incorrect}))
    return items


def shuffle_options(question: str, correct: str, incorrect: Sequence[str], seed: int) -> tuple[list[str], str]:
    """(options, correct letter): a shuffle fixed by ``seed`` and the question text, independent of row order."""
    options = [correct, *incorrect]
    digest = hashlib.sha256(f"{seed}\n{question}".encode()).digest()
    random.Random(int.from_bytes(digest[:8], "big")).shuffle(options)
    return options, LETTERS[options.index(correct)]


def mcq_prompt(question: str, options: Sequence[str]) -> str:
    lines = [question.strip(), ""] + [f"{LETTERS[i]}) {opt}" for i, opt in enumerate(options)]
    return "\n".join(lines + ["", MCQ_INSTRUCTION])


def _gpqa(path: Path, text: str, seed: int = GPQA_SHUFFLE_SEED) -> list[Item]:
    wrong_cols = ("Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")
    items = []
    for i, (_, row) in enumerate(_csv_rows(path, text, ("Question", "Correct Answer", *wrong_cols))):
        options, letter = shuffle_options(row["Question"], row["Correct Answer"], [row[c] for c in wrong_cols], seed)
        item_id = row.get("Record ID") or f"gpqa-{i:03d}"
        items.append(Item(item_id, mcq_prompt(row["Question"], options), letter, "mcq",
                          {"options": options, "raw_question": row["Question"], "shuffle_seed": seed,
                           "domain": row.get("High-level domain", "")}))
    return items


def _aime(path: Path, text: str) -> list[Item]:
    items = []
    for i, (where, row) in enumerate(_json_records(path, text)):
        _require_fields(path, where, row, ("problem", "answer"))
        raw = str(row["answer"]).strip()
        if not raw.lstrip("-").isdigit():
            raise InputError(f"{path}:{where}: answer must be an integer, got {raw[:40]!r}")
        item_id = str(row.get("id", f"aime25-{i:02d}"))
        items.append(Item(item_id, str(row["problem"]).strip(), str(int(raw)), "math", {}))
    return items


def _qa_json(path: Path, text: str) -> list[Item]:
    items = []
    for i, (where, row) in enumerate(_json_records(path, text)):
        _require_fields(path, where, row, ("question", "answers"))
        answers = row["answers"] if isinstance(row["answers"], list) else [row["answers"]]
        answers = [str(a).strip() for a in answers if str(a).strip()]
        if not answers:
            raise InputError(f"{path}:{where}: answers is empty")
        items.append(Item(str(row.get("id", f"qa-{i:05d}")), str(row["question"]).strip(), answers[0], "qa",
                          {"answers": answers, "title": row.get("title"),
                           **{k: row[k] for k in ("group", "family") if row.get(k)}}))
    return items


LOADERS: dict[str, Callable[[Path, str], list[Item]]] = {
    "simpleqa": _simpleqa,
    "chinese_simpleqa": _chinese_simpleqa,
    "truthfulqa": _truthfulqa,
    "gpqa": _gpqa,
    "aime25": _aime,
    "qa": _qa_json,
}
BENCHMARK_NAMES = tuple(LOADERS)


def load_benchmark(name: str, path: str | Path, *, expected_sha256: str | None = None) -> Benchmark:
    """Load and validate a benchmark file; ``expected_sha256`` (if given) must match the file's hash.

    Names: simpleqa, chinese_simpleqa, truthfulqa, gpqa, aime25, qa (any ``{question, answers}`` JSON/JSONL).
    """
    if name not in LOADERS:
        raise InputError(f"unknown benchmark {name!r}; choose one of {', '.join(BENCHMARK_NAMES)}")
    path = Path(path)
    text, digest = _read_text(path)
    if expected_sha256 and expected_sha256.lower() != digest:
        raise InputError(f"{path}: sha256 {digest[:12]}… does not match the configured {expected_sha256[:12]}…")
    items = LOADERS[name](path, text)
    if not items:
        raise InputError(f"{path}: no rows")
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise InputError(f"{path}: duplicate id {dup!r}")
    if name in FULL_SIZES and len(items) != FULL_SIZES[name]:
        log.info("%s: %d rows (the public release has %d)", path, len(items), FULL_SIZES[name])
    return Benchmark(name, str(path), digest, tuple(items))


def subsample(items: Sequence[Item], n: int | None, seed: int) -> list[Item]:
    """``n`` items drawn without replacement by ``seed`` (original order kept); all of them when n is None/>=len."""
    if n is None or n >= len(items):
        return list(items)
    if n < 1:
        raise InputError(f"subsample size must be positive, got {n}")
    picked = sorted(random.Random(seed).sample(range(len(items)), n))
    return [items[i] for i in picked]
