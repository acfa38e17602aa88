"""One iteration's data side: introspection -> parse -> de-duplicate -> self-analysis -> consensus -> filter ->
pool update, as one record per generated task (written to the iteration's ``tasks.jsonl``)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from knowrl.recipes.self_knowledge import prompts
from knowrl.recipes.self_knowledge.consensus import Group, filter_decision, group, parse_classification
from knowrl.recipes.self_knowledge.dedup import Deduplicator
from knowrl.recipes.self_knowledge.generation import sample
from knowrl.recipes.self_knowledge.pool import Pool
from knowrl.recipes.self_knowledge.settings import SelfKnowledgeSettings
from knowrl.recipes.self_knowledge.tasks import LABELS, Task
from knowrl.recipes.self_knowledge.update import TrainGroup


@dataclass
class IterationData:
    records: list[dict] = field(default_factory=list)   # one per introspection slot
    train: list[TrainGroup] = field(default_factory=list)
    labels: list[str | None] = field(default_factory=list)  # every parseable-or-not self-analysis label


def introspect(policy: Any, pool: Pool, settings: SelfKnowledgeSettings, rng: random.Random,
               iteration: int) -> list[dict]:
    """The policy writes one task per slot (intended label and reason balanced); parse failures recorded."""
    slots = prompts.intended_slots(settings.tasks_per_iteration, rng)
    texts = [prompts.introspection_prompt(pool.few_shot(settings.few_shot, rng), label, category)
             for label, category in slots]
    intro = settings.introspection
    generated = sample(policy.model, policy.tokenizer, texts, n=1, max_new_tokens=intro["max_new_tokens"],
                       temperature=intro["temperature"], top_p=intro["top_p"], stops=["\n"],
                       batch_size=settings.batch_size, desc="introspection")
    records = []
    for j, ((label, category), (out,)) in enumerate(zip(slots, generated)):
        task, reason = prompts.parse_introspection(out.text)
        records.append({"id": f"it{iteration:03d}-{j:03d}", "iteration": iteration, "intended_label": label,
                        "category": category, "raw": out.text, "task": task,
                        "decision": reason and f"unparseable/{reason}"})
    return records


def deduplicate(records: list[dict], pool_dedup: Deduplicator, heldout_dedup: Deduplicator) -> None:
    """Drop tasks too close to the pool, to an earlier task of this iteration, or to any held-out task."""
    for record in records:
        if record["decision"]:
            continue
        score, match = pool_dedup.check(record["task"])
        held_score, held_match = heldout_dedup.check(record["task"])
        record.update(rouge_l_pool=round(score, 4), rouge_l_heldout=round(held_score, 4))
        if held_score > heldout_dedup.threshold:
            record.update(decision="near_heldout", match=held_match)
        elif score > pool_dedup.threshold:
            record.update(decision="duplicate", match=match)
        else:
            pool_dedup.add(record["task"])


def self_analyse(policy: Any, records: list[dict], settings: SelfKnowledgeSettings) -> dict[str, tuple]:
    """k classifications per surviving task; ``{id: (prompt, samples, labels, reasons)}``."""
    todo, texts = [], []
    for record in records:
        if record["decision"]:
            continue
        text = prompts.analysis_prompt(policy.tokenizer, record["task"])
        if len(policy.tokenizer(text, add_special_tokens=False)["input_ids"]) > settings.max_prompt_tokens:
            record["decision"] = "prompt_too_long"  # over the update's prompt budget: never analysed or trained
            continue
        todo.append(record)
        texts.append(text)
    analysis = settings.analysis
    samples = sample(policy.model, policy.tokenizer, texts, n=settings.samples,
                     max_new_tokens=analysis["max_new_tokens"], temperature=analysis["temperature"],
                     top_p=analysis["top_p"], stops=["}"], batch_size=max(1, settings.batch_size // settings.samples),
                     desc="self-analysis")
    out = {}
    for record, text, task_samples in zip(todo, texts, samples):
        parsed = [parse_classification(s.text) for s in task_samples]
        out[record["id"]] = (text, tuple(task_samples), [p[0] for p in parsed], [p[1] for p in parsed])
    return out


def balance_kept(records: list[dict]) -> int:
    """Keep as many groups of each majority label as of the rarer one (``filter.balance_majority``): the surplus of
    the dominant label, latest first, becomes ``unbalanced``. Returns how many were dropped."""
    kept = [r for r in records if r["decision"] == "keep"]
    by_label = {label: [r for r in kept if r["majority"] == label] for label in LABELS}
    cap = min(len(rows) for rows in by_label.values())
    dropped = 0
    for rows in by_label.values():
        for record in rows[cap:]:
            record["decision"] = "unbalanced"
            dropped += 1
    return dropped


def run_data_side(policy: Any, pool: Pool, heldout: Deduplicator, settings: SelfKnowledgeSettings,
                  rng: random.Random, iteration: int) -> IterationData:
    """Introspection through pool update; returns the records, the groups to train on and all sample labels."""
    records = introspect(policy, pool, settings, rng, iteration)
    deduplicate(records, Deduplicator(settings.dedup_threshold, (t.task for t in pool.tasks)), heldout)
    analysed = self_analyse(policy, records, settings)
    data, to_pool = IterationData(records=records), []
    band = settings.filter
    for record in records:
        if record["id"] not in analysed:
            continue
        _, task_samples, labels, reasons = analysed[record["id"]]
        g: Group = group(record["id"], labels)
        decision = filter_decision(g, band["reward_low"], band["reward_high"], band["min_margin"])
        record.update(labels=labels, unparseable=dict(Counter(r for r in reasons if r)), majority=g.majority,
                      consensus=round(g.consensus, 4), margin=round(g.margin, 4), mean_reward=g.mean_reward,
                      truncated=sum(s.truncated for s in task_samples), decision=decision)
        data.labels.extend(labels)
        to_pool.append((Task(record["id"], record["task"], record["intended_label"], record["category"],
                             "generated", iteration), g))
    if band["balance_majority"]:
        balance_kept(records)
    data.train = [TrainGroup(r["id"], analysed[r["id"]][0], analysed[r["id"]][1])
                  for r in records if r["decision"] == "keep"]
    by_id = {r["id"]: r for r in records}
    for decision in pool.update(to_pool, settings.pool["min_consensus"]):
        by_id[decision.task_id]["pool"] = decision.reason
    return data
