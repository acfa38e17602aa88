"""The per-completion reward log (append-only JSONL, size-rotated, never re-read) and per-step aggregates."""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

COMPONENTS = ("format", "correct", "fact", "combined", "total")


def reason_key(reason: str) -> str:
    """The counted category of a none-reason: ``"grade: judge_error: timeout ..."`` -> ``"grade/judge_error"``.

    >>> reason_key("fact: facts_failed: 2 of 5 facts (retrieval_failed x2)"), reason_key("grade: no_gold_answer")
    ('fact/facts_failed', 'grade/no_gold_answer')
    """
    parts = [p.strip() for p in reason.split(":")]
    return "/".join(p for p in parts[:2] if p)


class RewardLog:
    """Appends one JSON line per completion to ``DIR/rewards.jsonl``; past ``rotate_mb`` the file is renamed to
    ``rewards.NNNNN.jsonl`` and a new one is started. The trainer never reads it back."""

    def __init__(self, directory: str | os.PathLike, rotate_mb: float = 64.0):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "rewards.jsonl"
        self.rotate_bytes = max(1, int(rotate_mb * 1024 * 1024))
        self.records = 0

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        lines = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records)
        if not lines:
            return
        if self.path.exists() and self.path.stat().st_size + len(lines) > self.rotate_bytes:
            self._rotate()
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(lines)
            fh.flush()
        self.records += lines.count("\n")

    def _rotate(self) -> None:
        taken = [int(p.stem.split(".")[-1]) for p in self.dir.glob("rewards.*.jsonl")
                 if p.stem.split(".")[-1].isdigit()]
        os.replace(self.path, self.dir / f"rewards.{max(taken, default=0) + 1:05d}.jsonl")

    def files(self) -> list[Path]:
        return sorted(self.dir.glob("rewards*.jsonl"))


class StepAggregator:
    """Running sums over the completions scored since the last ``snapshot()``."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sums: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self.none_reasons: Counter[str] = Counter()
        self.groups = 0
        self.zero_spread_groups = 0
        self.seconds = 0.0

    def add_batch(self, records: list[dict[str, Any]], seconds: float) -> None:
        self.seconds += seconds
        groups: dict[str, list[float | None]] = defaultdict(list)
        for rec in records:
            self._add(rec)
            groups[rec["prompt_id"]].append(rec["components"].get("total"))
        for totals in groups.values():
            if len(totals) > 1 and None not in totals:
                self.groups += 1
                self.zero_spread_groups += int(max(totals) - min(totals) == 0)

    def _add(self, rec: dict[str, Any]) -> None:
        self.counts["completions"] += 1
        self.counts["unscorable"] += int(rec["components"].get("total") is None)
        for name in COMPONENTS:
            value = rec["components"].get(name)
            if value is not None:
                self.sums[name] += value
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
        metrics: dict[str, Any] = {f"reward/{name}/mean": self.sums[name] / c[name]
                                   for name in COMPONENTS if c[name]}
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
            "reward/zero_spread_group_fraction": self.zero_spread_groups / max(1, self.groups),
            "reward/seconds": round(self.seconds, 4),
        })
        metrics.update({f"reward/unscorable/{k}": v for k, v in sorted(self.none_reasons.items())})
        if reset:
            self.reset()
        return metrics
