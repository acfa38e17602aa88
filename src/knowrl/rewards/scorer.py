"""``RewardScorer``: one per run; owns the judge, the KB and the fact pipeline, and scores a batch once for all the
reward functions TRL calls on it (they share the scorer explicitly, never module state).

Per batch: format -> correctness (rules, then one judge call) -> fact scores only where they can change the reward
(``code``/``june``; every completion in ``paper`` or with ``score_facts_for_all``) -> components -> one log record
per completion. A completion that cannot be scored (its total is ``None``) is counted and logged with its reasons,
and every reward function returns ``None`` for it (see ``knowrl.rewards.functions``), never a partial value.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from knowrl.facts.pipeline import FactPipeline, FactRequest, FactResult
from knowrl.rewards.correctness import GradeOutcome, grade_answers
from knowrl.rewards.format import completion_text, extract_answer, extract_reasoning, is_well_formed
from knowrl.rewards.log import RewardLog, StepAggregator, reason_key
from knowrl.rewards.settings import RewardSettings
from knowrl.rewards.values import combined_value, fact_score, needs_fact_score, total_value

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """Everything decided about one completion; ``components`` values are floats or None (unscored)."""

    prompt_id: str
    answer: str | None
    grade: GradeOutcome
    facts: FactResult | None = None
    components: dict[str, float | None] = field(default_factory=dict)
    none_reasons: list[str] = field(default_factory=list)

    @property
    def scorable(self) -> bool:
        """False when the reward of this completion could not be determined (every reward function says None)."""
        return self.components.get("total") is not None


def fact_value(result: FactResult | None, settings: RewardSettings) -> tuple[float | None, str | None]:
    """r_fact of one fact result over *all* its extracted facts (METHOD 3.3: supported / n), or ``(None, reason)``.

    A failed decomposition makes it None; so does any fact whose retrieval or verification failed, unless
    ``reward.failed_fact`` is ``unsupported`` (then it counts as an unsupported fact, in n and in the penalty).
    """
    if result is None:
        return None, "fact_not_computed"
    if result.facts is None:
        return None, f"decomposition_failed: {result.reason}"
    if result.non_factual or not result.facts:
        return 0.0, None
    failed = [f for f in result.facts if f.supported is None]
    if failed and settings.failed_fact == "unscored":
        why = Counter((f.reason or "unknown").split(":")[0] for f in failed)
        detail = ", ".join(f"{k} x{v}" for k, v in sorted(why.items()))
        return None, f"facts_failed: {len(failed)} of {len(result.facts)} facts ({detail})"
    supported = sum(1 for f in result.facts if f.supported)
    return fact_score(supported, len(result.facts), settings.values), None


def _column(columns: dict, name: str, n: int) -> list:
    values = columns.get(name)
    if values is None:
        return [None] * n
    values = list(values)
    if len(values) != n:
        raise ValueError(f"column {name!r} has {len(values)} values for {n} completions")
    return values


def _question_from_prompt(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    users = [m.get("content", "") for m in prompt or [] if isinstance(m, dict) and m.get("role") == "user"]
    return str(users[-1]) if users else ""


def _prompt_id(given: Any, question: str) -> str:
    return str(given) if given is not None else hashlib.sha256(question.encode()).hexdigest()[:12]


class RewardScorer:
    """Scores batches for TRL reward functions; see ``reward_functions()``, ``card()`` and ``step_metrics()``."""

    def __init__(self, settings: RewardSettings, judge: Any, facts: FactPipeline | None,
                 kb: Any = None, reward_log: RewardLog | None = None, owned: Sequence[Any] = ()):
        self.settings, self.judge, self.facts, self.kb = settings, judge, facts, kb
        self.log = reward_log
        self.aggregator = StepAggregator()
        self._owned = list(owned)
        self._last: tuple[str, list[Outcome], set[str]] | None = None
        self.batches = 0
        self._cache_seen = (0, 0)

    @classmethod
    def from_config(cls, config: dict, *, kb: Any = None, judge: Any = None) -> "RewardScorer":
        """Build from the resolved config; a KB or judge not given is opened here and closed by ``close()``.
        With ``reward.log.dir`` set, the reward card is written there at once."""
        from knowrl.facts.settings import FactsSettings

        settings = RewardSettings.from_config(config)
        owned: list[Any] = []
        if judge is None:
            from knowrl.judge import get_judge

            judge = get_judge(config.get("judge", {}))
            owned.append(judge)
        if kb is None:
            kb = _open_kb(config, FactsSettings.from_config(config).kb_path)
            owned.append(kb)
        facts = FactPipeline.from_config(config, kb=kb, judge=judge)
        owned.append(facts)
        reward_log = RewardLog(settings.log.dir, settings.log.rotate_mb) if settings.log.dir else None
        scorer = cls(settings, judge, facts, kb=kb, reward_log=reward_log, owned=owned)
        if reward_log is not None and reward_log.rank == 0:  # every logged run carries its reward card (one writer)
            from knowrl.rewards.card import write_card

            write_card(scorer, reward_log.dir / "reward_card.json")
        return scorer

    def score(self, prompts: Sequence[Any] | None, completions: Sequence[Any], *, consumer: str | None = None,
              **columns: Any) -> list[Outcome]:
        """Outcomes for one batch. Reward functions pass their name as ``consumer``: the next function asking
        for the same batch gets the same outcomes; the same function asking again means a new batch."""
        texts = [completion_text(c) for c in completions]
        n = len(texts)
        questions = _column(columns, "question", n)
        if prompts is not None:
            questions = [q if q is not None else _question_from_prompt(p) for q, p in zip(questions, prompts)]
        golds, titles = _column(columns, "answers", n), _column(columns, "title", n)
        key = hashlib.sha256(json.dumps([texts, questions, golds, titles], default=str).encode()).hexdigest()
        if consumer and self._last and self._last[0] == key and consumer not in self._last[2]:
            self._last[2].add(consumer)
            return self._last[1]
        given = columns.get("prompt_id", columns.get("id"))
        ids = [_prompt_id(g, q or "") for g, q in zip(_column({"id": given}, "id", n), questions)]
        step = getattr(columns.get("trainer_state"), "global_step", None)
        outcomes = self._score(texts, [q or "" for q in questions], golds, titles, ids, step)
        self._last = (key, outcomes, {consumer} if consumer else set())
        return outcomes

    def _score(self, texts: list[str], questions: list[str], golds: list, titles: list, ids: list[str],
               step: int | None) -> list[Outcome]:
        start = time.perf_counter()
        s = self.settings
        answers = [extract_answer(t) for t in texts]
        grades = grade_answers(self.judge, questions, golds, answers, s.values, ids, s.skip_judge_for_plain_refusal)
        outcomes = [Outcome(i, a, g) for i, a, g in zip(ids, answers, grades)]
        need = [k for k, g in enumerate(grades)
                if needs_fact_score(g.reward, g.refusal, s.values, s.score_facts_for_all)]
        t_correct = time.perf_counter() - start
        if need and self.facts is not None:
            for k, result in zip(need, self._fact_results([FactRequest(extract_reasoning(texts[k]), titles[k])
                                                           for k in need])):
                outcomes[k].facts = result
        for text, outcome in zip(texts, outcomes):
            self._components(text, outcome)
        seconds = time.perf_counter() - start
        timings = {"batch_s": round(seconds, 4), "correct_s": round(t_correct, 4),
                   "facts_s": round(seconds - t_correct, 4), "batch_size": len(texts), "fact_scored": len(need)}
        unscorable = [o for o in outcomes if not o.scorable]
        if unscorable:
            why = Counter(reason_key(r) for o in unscorable for r in o.none_reasons)
            log.warning("%d of %d completions could not be scored (%s); every reward function returns None for "
                        "them, so they carry no reward and no advantage", len(unscorable), len(outcomes),
                        ", ".join(f"{k} x{v}" for k, v in sorted(why.items())))
        records = [self._record(o, step, timings) for o in outcomes]
        if self.log is not None:
            self.log.append(records)
        self.aggregator.add_batch(records, seconds)
        self.batches += 1
        log.debug("scored %d completions in %.2fs (correctness %.2fs)", len(texts), seconds, t_correct)
        return outcomes

    def _fact_results(self, requests: list[FactRequest]) -> list[FactResult]:
        """The pipeline's results; an unexpected failure (KB, backend) fails these completions, with the reason."""
        try:
            return self.facts.score(requests)  # type: ignore[union-attr]
        except Exception as exc:
            log.exception("fact pipeline failed for %d completions", len(requests))
            return [FactResult(None, reason=f"pipeline_error: {type(exc).__name__}: {exc}") for _ in requests]

    def _components(self, text: str, o: Outcome) -> None:
        values = self.settings.values
        r_format = 1.0 if is_well_formed(text) else -1.0
        r_fact, fact_reason = fact_value(o.facts, self.settings) if o.facts is not None else (None, None)
        combined = combined_value(o.grade.reward, o.grade.refusal, r_fact, values)
        total = total_value(r_format, o.grade.reward, o.grade.refusal, r_fact, values)
        o.components = {"format": r_format, "correct": o.grade.reward, "fact": r_fact,
                        "combined": None if values.variant == "paper" else combined, "total": total}
        if o.grade.reward is None:
            o.none_reasons.append(f"grade: {o.grade.reason}")
        if fact_reason and total is None:
            o.none_reasons.append(f"fact: {fact_reason}")

    def _record(self, o: Outcome, step: int | None, timings: dict[str, Any]) -> dict[str, Any]:
        return {"step": step, "batch": self.batches, "prompt_id": o.prompt_id, "answer": o.answer,
                "grade": o.grade.grade, "grade_source": o.grade.source, "grade_reason": o.grade.reason,
                "grade_cached": o.grade.cached, "refusal": o.grade.refusal, "components": o.components,
                "none_reasons": o.none_reasons, "facts": o.facts.to_log() if o.facts is not None else None,
                "timings": timings}

    def reward_functions(self) -> list[Callable]:
        """TRL reward functions of the configured variant (TRL sums them with weight 1)."""
        from knowrl.rewards.functions import reward_functions_for

        return reward_functions_for(self)

    def step_metrics(self, gather: Callable[[Any], list] | None = None) -> dict[str, Any]:
        """Aggregates since the last call (means per component, refusal rate, support rate, ...), then reset.

        ``gather`` (training across processes: every rank calls it together) returns each rank's value of its
        argument; the metrics then cover the completions of all ranks."""
        state = {**self.aggregator.export(), "cache": self._cache_delta()}
        states = gather(state) if gather is not None else [state]
        metrics = StepAggregator.merged(states).snapshot(reset=True)
        self.aggregator.reset()
        if self.facts is not None and getattr(self.facts, "cache", None) is not None:
            hits, asked = (sum(s["cache"][i] for s in states) for i in (0, 1))
            metrics["reward/cache_hit_rate"] = hits / asked if asked else 0.0
        return metrics

    def _cache_delta(self) -> tuple[int, int]:
        """Fact-cache (hits, lookups) since the last call."""
        cache = getattr(self.facts, "cache", None)
        if cache is None:
            return 0, 0
        stats = cache.stats()
        hits = sum(v["hits"] for v in stats.values())
        asked = hits + sum(v["misses"] for v in stats.values())
        delta = hits - self._cache_seen[0], asked - self._cache_seen[1]
        self._cache_seen = (hits, asked)
        return delta

    def card(self) -> dict[str, Any]:
        from knowrl.rewards.card import reward_card

        return reward_card(self)

    def close(self) -> None:
        for obj in reversed(self._owned):
            try:
                obj.close()
            except Exception as exc:  # closing must not mask the run's own result
                log.warning("closing %s failed: %s", type(obj).__name__, exc)
        self._owned.clear()

    def __enter__(self) -> "RewardScorer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _open_kb(config: dict, path: str | None) -> Any:
    from knowrl.errors import ConfigError
    from knowrl.kb import KnowledgeBase

    if not path:
        raise ConfigError("facts.kb_path is not set: the factuality reward needs a built KB (knowrl kb build)")
    device = config.get("kb", {}).get("device", "cpu")
    return KnowledgeBase.open(path, device=device)
