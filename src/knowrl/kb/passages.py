"""Passage splitting (METHOD 6): paragraphs -> sentences -> greedy packing to a token budget.

Tokens are counted with the embedding model's own tokenizer, so a passage never silently loses its tail to the
encoder's truncation. Over-long sentences are cut into windows of the budget using the tokenizer's character
offsets, so every passage is a verbatim substring of the document.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PARAGRAPH_RE = re.compile(r"\n\s*\n")
SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")
ABBREVIATIONS = (
    "Mr", "Mrs", "Ms", "Dr", "Prof", "Sr", "Jr", "St", "Mt", "Ft", "Gen", "Col", "Lt", "Sgt", "Capt", "Gov",
    "Sen", "Rep", "Rev", "Hon", "Pres", "vs", "etc", "e.g", "i.e", "cf", "al", "approx", "ca", "c", "no", "No",
    "vol", "Vol", "pp", "p", "fig", "Fig", "Inc", "Ltd", "Co", "Corp", "Bros", "U.S", "U.K", "Jan", "Feb",
    "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", "a.m", "p.m", "B.C", "A.D",
)
# a boundary is not a sentence end when the text before it ends in an abbreviation or a single initial
_PROTECTED = re.compile(
    r"(?:^|[\s(\[])(?:" + "|".join(re.escape(a) for a in ABBREVIATIONS) + r"|[A-Z])\.$")


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of one paragraph; ``Dr. Smith`` and ``J. R. R. Tolkien`` stay whole."""
    pieces = SENTENCE_RE.split(paragraph.strip())
    sentences: list[str] = []
    for piece in pieces:
        if sentences and _PROTECTED.search(sentences[-1][-12:].rjust(12)):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return [s for s in sentences if s]


def split_paragraphs(text: str) -> list[str]:
    return [p.strip() for p in PARAGRAPH_RE.split(text) if p.strip()]


class PassageSplitter:
    """Split documents into passages of at most ``max_tokens`` tokens of ``tokenizer`` (a HF fast tokenizer)."""

    def __init__(self, tokenizer: Any, max_tokens: int):
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens

    def _count(self, sentences: Sequence[str]) -> list[int]:
        encoded = self.tokenizer(list(sentences), add_special_tokens=False, verbose=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def windows(self, sentence: str) -> list[str]:
        """Cut one over-long sentence into consecutive windows of <= ``max_tokens`` tokens of verbatim text,
        ending each window at a word start when one exists (no word is cut in half unless it alone is too long)."""
        offsets = self.tokenizer(sentence, add_special_tokens=False, return_offsets_mapping=True,
                                 verbose=False)["offset_mapping"]
        out, start = [], 0
        while start < len(offsets):
            end = min(start + self.max_tokens, len(offsets))
            if end < len(offsets):
                word_starts = [j for j in range(end, start, -1) if offsets[j][0] > offsets[j - 1][1]]
                end = word_starts[0] if word_starts else end
            stop = offsets[end][0] if end < len(offsets) else len(sentence)
            out.append(sentence[offsets[start][0]:stop].strip())
            start = end
        return [w for w in out if w]

    def split(self, text: str) -> list[str]:
        """Greedy packing of whole sentences; paragraph breaks inside a passage are kept as newlines."""
        units: list[tuple[str, bool]] = []            # (sentence, starts a paragraph)
        for paragraph in split_paragraphs(text):
            for i, sentence in enumerate(split_sentences(paragraph)):
                units.append((sentence, i == 0))
        if not units:
            return []
        counts = self._count([u[0] for u in units])
        passages: list[str] = []
        current: list[str] = []
        used = 0
        for (sentence, new_para), n in zip(units, counts):
            if n > self.max_tokens:
                if current:
                    passages.append("".join(current))
                    current, used = [], 0
                passages.extend(self.windows(sentence))
                continue
            if current and used + n > self.max_tokens:
                passages.append("".join(current))
                current, used = [], 0
            joiner = "" if not current else ("\n" if new_para else " ")
            current.append(joiner + sentence)
            used += n
        if current:
            passages.append("".join(current))
        return passages


class FastTokenizer:
    """A ``tokenizers.Tokenizer`` behind the slice of the transformers call interface that PassageSplitter uses.

    Loading it takes milliseconds and no torch, which is what lets each dump-parsing worker process split its own
    passages; truncation and padding stored in ``tokenizer.json`` are switched off, as transformers does."""

    def __init__(self, folder: str | os.PathLike):
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()

    def __call__(self, texts, add_special_tokens: bool = False, return_offsets_mapping: bool = False,
                 verbose: bool = False) -> dict[str, Any]:
        if isinstance(texts, str):
            enc = self.tokenizer.encode(texts, add_special_tokens=add_special_tokens)
            return {"input_ids": enc.ids, "offset_mapping": enc.offsets}
        encs = self.tokenizer.encode_batch(list(texts), add_special_tokens=add_special_tokens)
        return {"input_ids": [e.ids for e in encs], "offset_mapping": [e.offsets for e in encs]}


def load_tokenizer(folder: str | os.PathLike):
    """The embedder's tokenizer without loading the model: ``tokenizer.json`` directly, else transformers."""
    if (Path(folder) / "tokenizer.json").is_file():
        return FastTokenizer(folder)
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
