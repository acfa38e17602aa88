"""Dump pages -> KB documents, in worker processes: the CPU-heavy part of a build from a Wikipedia dump.

Each worker (spawned, so no torch or open SQLite handle is inherited) loads only the parser and the embedder's
tokenizer, reads its share of multistream streams itself (or gets raw pages from the reader), and returns
ready-to-store passages. ``ordered_map`` keeps results in input order with a bounded number of tasks in flight,
so a slow writer never lets results pile up in memory and the KB is the same for any number of processes.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowrl.errors import KnowRLError
from knowrl.kb import wikitext
from knowrl.kb.titles import normalise_title, strip_fragment
from knowrl.kb.wikidump import RawPage, Stream, read_stream

TASK_TIMEOUT_S = 3600                       # one task is a few streams; an hour means a hung worker
PARENT_POLL_S = 1.0


@dataclass(frozen=True)
class ConvertSettings:
    tokenizer: str                          # the embedder folder (its tokenizer counts passage tokens)
    passage_tokens: int
    max_chars: int


@dataclass
class Converted:
    """What one page became: ``kind`` doc | redirect | skip."""
    title: str
    kind: str
    passages: list[str] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    target: str | None = None               # redirect target, normalised
    reason: str | None = None               # skip reason


def classify(raw: RawPage) -> Converted | None:
    """The cheap verdicts (unreadable, other namespace, redirect); None = an article to convert."""
    title = " ".join(raw.title.split())
    if raw.problem:
        return Converted(title, "skip", reason=raw.problem)
    if raw.ns != 0:
        return Converted(title, "skip", reason="other_namespace")
    if not title:
        return Converted(title, "skip", reason="blank")
    target = raw.redirect if raw.redirect is not None else wikitext.redirect_target(raw.text or "")
    if target is not None:
        target = normalise_title(strip_fragment(target))
        return Converted(title, "redirect", target=target) if target else Converted(title, "skip", reason="blank")
    return None


class PageConverter:
    """Wikitext -> section-bounded passages with the KB's splitter; one per process."""

    def __init__(self, settings: ConvertSettings):
        from knowrl.kb.passages import PassageSplitter, load_tokenizer

        self.settings = settings
        self.splitter = PassageSplitter(load_tokenizer(settings.tokenizer), settings.passage_tokens)

    def convert(self, raw: RawPage, wanted: bool = True) -> Converted:
        verdict = classify(raw)
        if verdict is not None:
            return verdict
        title = " ".join(raw.title.split())
        if not wanted:
            return Converted(title, "skip", reason="not_selected")
        text = raw.text or ""
        if not text.strip():
            return Converted(title, "skip", reason="blank")
        if len(text) > self.settings.max_chars:
            return Converted(title, "skip", reason="too_long")
        try:
            page = wikitext.convert(text, title)
        except Exception:                                       # the tokenizer's own errors are not typed
            return Converted(title, "skip", reason="unparseable_wikitext")
        passages: list[str] = []
        outline: list[list] = []
        for section in page.sections:
            split = self.splitter.split(section.text)
            if split:
                outline.append([section.heading, len(split)])          # heading None = the lead
                passages.extend(split)
        if not passages:
            return Converted(title, "skip", reason="blank")
        lead = outline[0][1] if outline[0][0] is None else 0
        metadata: dict[str, Any] = {"page_id": raw.page_id, "lead_passages": lead, "sections": outline}
        if page.disambiguation:
            metadata["disambiguation"] = True
        return Converted(title, "doc", passages=passages, metadata=metadata)


# -- worker processes --------------------------------------------------------------------------------------
_converter: PageConverter | None = None


def init_worker(settings: ConvertSettings | None, watch_parent: bool = False) -> None:
    global _converter
    os.environ["TOKENIZERS_PARALLELISM"] = "false"              # one thread per worker: the workers are the parallelism
    _converter = PageConverter(settings) if settings is not None else None
    if watch_parent:
        threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """A worker blocks on a queue whose write end its siblings also hold, so it would outlive a build killed by
    SIGKILL or the OOM killer (and keep its output pipes open): leave as soon as the parent is gone."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


def convert_pages(pages: list[RawPage]) -> list[Converted]:
    return [_converter.convert(page) for page in pages]


def convert_streams(task: tuple[str, list[Stream], frozenset[str] | None]) -> list[list[Converted]]:
    """Read, parse and convert whole streams; ``wanted`` None = every article."""
    path, streams, wanted = task
    out = []
    for stream in streams:
        pages = read_stream(Path(path), stream)
        out.append([_converter.convert(p, wanted is None or " ".join(p.title.split()) in wanted) for p in pages])
    return out


def scan_streams(task: tuple[str, list[Stream]]) -> list[list[Converted]]:
    """Titles, namespaces and redirects only (the catalog pass of a filtered build: no wikitext parsing)."""
    path, streams = task
    return [[classify(p) or Converted(" ".join(p.title.split()), "article") for p in read_stream(Path(path), s)]
            for s in streams]


def link_streams(task: tuple[str, list[Stream], frozenset[str]]) -> list[tuple[str, list[str]]]:
    """(title, link targets) of the wanted articles of the streams."""
    path, streams, wanted = task
    out = []
    for stream in streams:
        for page in read_stream(Path(path), stream):
            title = " ".join(page.title.split())
            if title in wanted and classify(page) is None:
                out.append((title, wikitext.link_targets(page.text or "")))
    return out


def _result(future):
    try:
        return future.result(timeout=TASK_TIMEOUT_S)
    except BrokenProcessPool:
        raise KnowRLError("a dump worker process died (out of memory or killed); re-run the build to resume, "
                          "with fewer --processes if memory is short") from None
    except TimeoutError:
        raise KnowRLError(f"a dump worker task took over {TASK_TIMEOUT_S} s; re-run the build to resume") from None


def ordered_map(fn: Callable, tasks: Iterable, processes: int, settings: ConvertSettings | None,
                window: int | None = None) -> Iterator:
    """``map(fn, tasks)`` over ``processes`` spawned workers, in order, at most ``window`` tasks in flight."""
    if processes <= 1:
        init_worker(settings)
        yield from map(fn, tasks)
        return
    window = window or 2 * processes
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=context, initializer=init_worker,
                             initargs=(settings, True)) as pool:
        pending: deque = deque()
        try:
            for task in tasks:
                pending.append(pool.submit(fn, task))
                if len(pending) >= window:
                    yield _result(pending.popleft())
            while pending:
                yield _result(pending.popleft())
        finally:
            for future in pending:
                future.cancel()
