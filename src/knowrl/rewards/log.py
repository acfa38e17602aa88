"""The per-completion reward log (append-only JSONL, size-rotated, never re-read) and per-step aggregates.

Training across processes: TRL calls the reward functions on every rank with that rank's slice of the completions
(then gathers the rewards), so each completion is scored once, by one rank. Each rank appends to its own file
(``rewards.jsonl`` for rank 0, ``rewards.rank<N>.jsonl`` for the others; every record names its rank): no two
processes write one file. ``RewardLog.read_all`` merges them; ``StepAggregator.merged`` sums the per-step counts of
all ranks, so the logged metrics cover the whole global batch.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

COMPONENTS = ("format", "correct", "fact", "combined", "total")


def process_rank() -> int:
    """Global rank of this training process (torchrun / accelerate set RANK; 0 when not distributed)."""
    return int(os.environ.get("RANK", "0"))


def reason_key(reason: str) -> str:
    """The counted category of a none-reason: ``"grade: judge_error: timeout ..."`` -> ``"grade/judge_error"``.

    >>> reason_key("fact: facts_failed: 2 of 5 facts (retrieval_failed x2)"), reason_key("grade: no_gold_answer")
    ('fact/facts_failed', 'grade/no_gold_answer')
    """
    parts = [p.strip() for p in reason.split(":")]
    return "/".join(p for p in parts[:2] if p)


class RewardLog:
    """Appends one JSON line per completion to ``DIR/rewards.jsonl`` (``rewards.rank<N>.jsonl`` on rank N > 0); past
    ``rotate_mb`` the file is renamed to ``<stem>.NNNNN.jsonl`` and a new one is started. The trainer never reads it
    back."""

    def __init__(self, directory: str | os.PathLike, rotate_mb: float = 64.0, rank: int | None = None):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.rank = process_rank() if rank is None else rank
        self.stem = "rewards" if self.rank == 0 else f"rewards.rank{self.rank}"
        self.path = self.dir / f"{self.stem}.jsonl"
        self.rotate_bytes = max(1, int(rotate_mb * 1024 * 1024))
        self.records = 0

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        lines = "".join(json.dumps({**r, "rank": self.rank}, ensure_ascii=False, default=str) + "\n"
                        for r in records)
        if not lines:
            return
        if self.path.exists() and self.path.stat().st_size + len(lines) > self.rotate_bytes:
            self._rotate()
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(lines)
            fh.flush()
        self.records += lines.count("\n")

    def _rotate(self) -> None:
        pattern = re.compile(re.escape(self.stem) + r"\.(\d{5})\.jsonl")
        taken = [int(m.group(1)) for p in self.dir.iterdir() if (m := pattern.fullmatch(p.name))]
        os.replace(self.path, self.dir / f"{self.stem}.{max(taken, default=0) + 1:05d}.jsonl")

    def files(self) -> list[Path]:
        return sorted(self.dir.glob("rewards*.jsonl"))

    @staticmethod
    def read_all(directory: str | os.PathLike) -> Iterator[dict[str, Any]]:
        """Every record of every rank's files (rotated ones included), file by file."""
        for path in sorted(Path(directory).glob("rewards*.jsonl")):
            with open(path, encoding="utf-8") as fh:
                yield from (json.loads(line) for line in fh if line.strip())


class StepAggregator:
    """Running sums over the completions scored since the last ``snapshot()``."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sums: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self.none_reasons: Counter[str] = Counter()
        self.group_totals: dict[str, list[float | None]] = defaultdict(list)
        self.seconds = 0.0

    def export(self) -> dict[str, Any]:
        """The running sums as plain data (to gather them from every rank)."""
        return {"sums": dict(self.sums), "counts": dict(self.counts), "none_reasons": dict(self.none_reasons),
                "group_totals": dict(self.group_totals), "seconds": self.seconds}

    @classmethod
    def merged(cls, states: Iterable[dict[str, Any]]) -> "StepAggregator":
        """One aggregate over the exports of all ranks (counts added, a group's completions joined even when the
        ranks split the group; seconds = the slowest rank's)."""
        total = cls()
        for state in states:
            total.sums.update(state["sums"])
            total.counts.update(state["counts"])
            total.none_reasons.update(state["none_reasons"])
            for key, totals in state["group_totals"].items():
                total.group_totals[key].extend(totals)
            total.seconds = max(total.seconds, state["seconds"])
        return total

    def add_batch(self, records: list[dict[str, Any]], seconds: float) -> None:
        self.seconds += seconds
        for rec in records:
            self._add(rec)
            # a GRPO group = one prompt's completions of one step (of one batch outside a trainer)
            when = f"s{rec['step']}" if rec.get("step") is not None else f"b{rec.get('batch')}"
            self.group_totals[f"{when}/{rec['prompt_id']}"].append(rec["components"].get("total"))

    def _add(self, rec: dict[str, Any]) -> None:
        self.counts["completions"] += 1
        self.counts["unscorable"] += int(rec["components"].get("total") is None)
        for name in COMPONENTS:
            value = rec["components"].get(name)
            if value is not None:
                self.sums[name] += value
                self.sums[f"{name}^2"] += value * value
                self.counts[name] += 1
        self.counts["refusals"] += int(bool(rec.get("refusal")))
        self.counts["unparseable"] += int("unparseable" in str(rec.get("grade_reason") or ""))
        for reason in rec.get("none_reasons", []):
            self.none_reasons[reason_key(reason)] += 1
        facts = rec.get("facts")
        if facts is not None:
            self.counts["fact_scored"] += 1
            verified = [f for f in facts.get("facts") or [] if f["supported"] is not None]
            self.counts["facts"] += len(facts.get("facts") or [])
            self.counts["facts_verified"] += len(verified)
            self.counts["facts_supported"] += sum(1 for f in verified if f["supported"])
            self.counts["facts_failed"] += len(facts.get("facts") or []) - len(verified)
            self.counts["titles_missing"] += len(facts.get("titles_missing") or [])

    def snapshot(self, reset: bool = True) -> dict[str, Any]:
        c, n = self.counts, max(1, self.counts["completions"])
        groups = [t for t in self.group_totals.values() if len(t) > 1 and None not in t]
        zero_spread = sum(1 for t in groups if max(t) - min(t) == 0)
        metrics: dict[str, Any] = {f"reward/{name}/mean": self.sums[name] / c[name]
                                   for name in COMPONENTS if c[name]}
        # the spread of each component over the step's completions (the fact reward's shows whether the
        # knowledgeable part of the reward varies at all: always 0 means it is not being exercised)
        metrics.update({f"reward/{name}/std": math.sqrt(max(0.0, self.sums[f"{name}^2"] / c[name]
                                                             - (self.sums[name] / c[name]) ** 2))
                        for name in COMPONENTS if c[name]})
        metrics.update({
            "reward/completions": c["completions"],
            "reward/refusal_rate": c["refusals"] / n,
            "reward/fact_scored_fraction": c["fact_scored"] / n,
            "reward/facts_per_completion": c["facts"] / max(1, c["fact_scored"]),
            "reward/support_rate": c["facts_supported"] / max(1, c["facts_verified"]),
            "reward/unparseable": c["unparseable"],
            "reward/unscorable": c["unscorable"],
            "reward/unscorable_fraction": c["unscorable"] / n,
            "reward/facts_failed": c["facts_failed"],
            "reward/titles_missing": c["titles_missing"],
            "reward/zero_spread_group_fraction": zero_spread / max(1, len(groups)),
            "reward/seconds": round(self.seconds, 4),
        })
        metrics.update({f"reward/unscorable/{k}": v for k, v in sorted(self.none_reasons.items())})
        if reset:
            self.reset()
        return metrics
