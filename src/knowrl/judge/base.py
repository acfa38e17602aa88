"""The ``Judge`` base: sync batch methods over cache look-up, de-duplication, backend work and strict parsing.

A backend implements ``_compute(task, inputs) -> list[Outcome]`` (and ``model_identity``). The base class keys
every item by (backend, model identity, task, template version, decoding parameters, inputs), serves repeats
from the cache and from identical items in the same batch, stores only parsed results and counts everything.
HTTP backends run their async client on one private event-loop thread, so sync callers (TRL reward functions)
and callers already inside an event loop both work.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from knowrl.judge.cache import JudgeCache, cache_key
from knowrl.judge.config import JudgeConfig
from knowrl.judge.stats import JudgeStats
from knowrl.judge.tasks import TASKS, template_versions
from knowrl.judge.types import Decomposition, Grade, GradeItem, GradeResult, VerifyItem, VerifyResult


@dataclass
class Outcome:
    """One task result: ``value`` (JSON-able, as cached) or None with ``reason``."""

    value: Any = None
    reason: str | None = None
    cached: bool = False


class Judge:
    """Base of all backends; one per run, shared explicitly, closed when done (or used as a context manager)."""

    name = "base"
    uses_cache = True

    def __init__(self, cfg: JudgeConfig):
        self.cfg = cfg
        self._stats = JudgeStats()
        self._cache_obj: JudgeCache | None = None  # opened on first use: a judge that fails to start opens nothing
        self._cache_lock = threading.Lock()        # stats() may be called from another thread while grading
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._identity: dict | None = None

    # -- public contract ---------------------------------------------------------------------------------
    def grade(self, items: Sequence[GradeItem]) -> list[GradeResult]:
        inputs = [{"question": it.question, "gold": it.gold, "prediction": it.prediction} for it in items]
        return [GradeResult(Grade(o.value["grade"]) if o.value else None, o.reason, o.cached)
                for o in self._run("grade", inputs)]

    def decompose(self, texts: Sequence[str]) -> list[Decomposition]:
        outcomes = self._run("atomic_facts", [{"text": t} for t in texts])
        return [Decomposition(o.value["facts"] if o.value else None, bool(o.value and o.value["non_factual"]),
                              o.reason, o.cached) for o in outcomes]

    def verify(self, items: Sequence[VerifyItem]) -> list[VerifyResult]:
        inputs = [{"fact": it.fact, "passages": list(it.passages)} for it in items]
        return [VerifyResult(o.value["supported"] if o.value else None, o.reason, o.cached)
                for o in self._run("verify", inputs)]

    def identity(self) -> dict:
        """What outputs record about the judge: backend, model, templates, decoding (never an API key)."""
        return {"backend": self.name, "model": self.model_identity(), "templates": template_versions(),
                "decoding": self.decoding()}

    def stats(self) -> dict:
        """Call and cache counters; opens nothing (a judge not yet used reports an empty cache)."""
        snap = self._stats.snapshot()
        cache = self._cache_obj
        hits, misses, evictions = (cache.hits, cache.misses, cache.evictions) if cache else (0, 0, 0)
        snap["cache"] = {"hits": hits, "misses": misses, "evictions": evictions,
                         "path": str(self._cache_path) if self._cache_path else None}
        return snap

    def close(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._loop.close()
            self._loop = None
        if self._cache_obj is not None:
            self._cache_obj.close()
            self._cache_obj = None

    def __enter__(self) -> "Judge":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- backend hooks -----------------------------------------------------------------------------------
    def model_identity(self) -> dict:
        return {}

    def decoding(self, task: str | None = None) -> dict:
        """Decoding settings (of one task's requests: the output mode can differ per task)."""
        modes = {name: self.output_mode(name) for name in TASKS} if task is None else self.output_mode(task)
        return {"temperature": self.cfg.temperature, "seed": self.cfg.seed, "max_tokens": self.cfg.max_tokens,
                "output_mode": modes}

    def output_mode(self, task: str | None = None) -> str:
        return "text" if self.cfg.output_mode == "auto" else self.cfg.output_mode

    def _compute(self, task: str, inputs: list[dict]) -> list[Outcome]:
        raise NotImplementedError

    # -- machinery ---------------------------------------------------------------------------------------
    @property
    def _cache_path(self) -> str | None:
        """The SQLite file this judge caches in (None: in memory)."""
        return self.cfg.cache if self.uses_cache else None

    @property
    def _cache(self) -> JudgeCache:
        with self._cache_lock:  # one cache per judge, whichever thread asks first
            if self._cache_obj is None:
                self._cache_obj = JudgeCache(self._cache_path, memory_mb=self.cfg.memory_cache_mb)
            return self._cache_obj

    def _key(self, task: str, inputs: dict) -> str:
        if self._identity is None:
            self._identity = self.model_identity()
        return cache_key(backend=self.name, model=self._identity, task=task,
                         template=TASKS[task].version, decoding=self.decoding(task), inputs=inputs)

    def _run(self, task: str, inputs: list[dict]) -> list[Outcome]:
        keys = [self._key(task, inp) for inp in inputs]
        stored = self._cache.get_many(keys)
        todo = {k: inp for k, inp in zip(keys, inputs) if k not in stored}
        hits = sum(1 for k in keys if k in stored)
        fresh = dict(zip(todo, self._compute(task, list(todo.values())))) if todo else {}
        self._cache.put_many({k: (task, o.value) for k, o in fresh.items() if o.value is not None})
        unparseable = sum(1 for o in fresh.values() if o.value is None and (o.reason or "").startswith("unparseable"))
        self._stats.record_batch(len(inputs), hits, len(inputs) - hits - len(todo), unparseable)
        return [Outcome(stored[k], None, True) if k in stored else _copy(fresh[k]) for k in keys]

    def _run_async(self, coro: Coroutine) -> Any:
        """Run a coroutine on this judge's private loop thread and wait for it."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name=f"judge-{self.name}",
                                            daemon=True)
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()


def _copy(outcome: Outcome) -> Outcome:
    return Outcome(**asdict(outcome))


def parsed_outcome(task: str, reply: str | None) -> Outcome:
    """Strictly parse a model reply for ``task`` into the cached value form."""
    parsed = TASKS[task].parse(reply)
    if task == "grade":
        grade, reason = parsed
        return Outcome({"grade": grade.value} if grade else None, reason)
    if task == "atomic_facts":
        facts, non_factual, reason = parsed
        return Outcome({"facts": facts, "non_factual": non_factual} if facts is not None else None, reason)
    supported, reason = parsed
    return Outcome({"supported": supported} if supported is not None else None, reason)
