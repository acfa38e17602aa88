"""``knowrl selfknow run``: the self-knowledge iteration loop (RECIPES B) with its guards, resumable.

Per iteration: introspection -> de-duplication -> self-analysis (k samples) -> consensus -> filter -> pool update
-> GRPO update on the kept groups -> guard evaluation on the verified seed set. Each iteration is published as
``iterations/NNN/`` (``tasks.jsonl``: every generated task with its intended label, samples' labels, consensus and
filter / pool decisions; ``summary.json``; ``pool.jsonl``; ``guard.jsonl``; ``adapter/``; the trainer's
``metrics.jsonl``), sealed with SHA256SUMS + provenance, then renamed into place; ``state.json`` records what is
done, so ``--resume`` continues after the last published iteration.
"""

from __future__ import annotations

import logging
import random
import shutil
import time
from collections import Counter
from pathlib import Path

from knowrl.artifact import verify_sums
from knowrl.config import config_hash
from knowrl.errors import InputError
from knowrl.files import read_json, read_jsonl, write_json_atomic, write_jsonl_atomic
from knowrl.recipes.self_knowledge import analysis, evaluate, guards, metrics
from knowrl.recipes.self_knowledge.dedup import Deduplicator
from knowrl.recipes.self_knowledge.pool import Pool
from knowrl.recipes.self_knowledge.settings import SelfKnowledgeSettings
from knowrl.recipes.self_knowledge.tasks import LABELS, Task, check_task, label_counts, load_tasks
from knowrl.recipes.self_knowledge.update import Policy, load_policy, update_policy

log = logging.getLogger(__name__)
STAGE = "self_knowledge"


def iteration_dir(out: Path, i: int) -> Path:
    return out / "iterations" / f"{i:03d}"


def run_hash(config: dict) -> str:
    """The config hash a resumed run must match: every setting except the number of iterations (a finished run
    can be extended)."""
    import copy

    trimmed = copy.deepcopy(config)
    del trimmed["self_knowledge"]["iterations"]
    return config_hash(trimmed)


def load_state(out: Path, config: dict, resume: bool) -> dict:
    """The loop's state: fresh, or (``resume``) the published one after checking config and checksums."""
    path = out / "state.json"
    if not path.is_file():
        return {"config_sha256": run_hash(config), "completed": [], "guard": [], "alarms": [], "stopped": None}
    if not resume:
        raise InputError(f"{out} already holds a self-knowledge run; pass --resume to continue it or choose "
                         "another --out")
    state = read_json(path)
    if state["config_sha256"] != run_hash(config):
        raise InputError(f"refusing to resume {out}: it was written under a different config; use another --out")
    if state["completed"]:
        report = verify_sums(iteration_dir(out, state["completed"][-1]))
        if not report.ok:
            raise InputError(f"refusing to resume {out}: last iteration does not match its checksums: "
                             f"{report.summary()}")
    return state


def restore_pool(out: Path, state: dict, seed_tasks: list[Task], max_size: int) -> Pool:
    if not state["completed"]:
        return Pool(seed_tasks, max_size)
    rows = read_jsonl(iteration_dir(out, state["completed"][-1]) / "pool.jsonl")
    return Pool([check_task(row, "pool.jsonl") for row in rows], max_size)


def guard_subset(tasks: list[Task], max_tasks: int | None, seed: int) -> list[Task]:
    """A fixed, label-balanced subset of the guard set (the same in every iteration and on resume)."""
    if not max_tasks or max_tasks >= len(tasks):
        return tasks
    rng, chosen = random.Random(seed), []
    for i, label in enumerate(LABELS):
        pool = [t for t in tasks if t.label == label]
        chosen += rng.sample(pool, min(len(pool), max_tasks // 2 + (max_tasks % 2 if i == 0 else 0)))
    return chosen


def guard_eval(policy: Policy, tasks: list[Task], settings: SelfKnowledgeSettings, seed: int) -> tuple[dict, list]:
    return evaluate.evaluate(policy.model, policy.tokenizer, tasks, settings.eval, settings.batch_size, seed)


def iteration_summary(i: int, data: analysis.IterationData, update: dict | None, pool: Pool) -> dict:
    """Counts by decision, label ratio of all samples, class balance of the kept tasks, intrinsic figures."""
    analysed = [r for r in data.records if "labels" in r]
    kept = [r for r in data.records if r["decision"] == "keep"]
    return {"iteration": i, "generated": len(data.records),
            "decisions": dict(Counter(r["decision"] for r in data.records)),
            "pool_decisions": dict(Counter(r["pool"] for r in analysed)), "pool_size": len(pool.tasks),
            "label_counts": label_counts(data.labels), "label_ratio": guards.label_ratio(data.labels),
            "kept_intended": label_counts(r["intended_label"] for r in kept),
            "kept_majority": label_counts(r["majority"] for r in kept),
            "intrinsic": metrics.intrinsic_figures(analysed),
            "update": None if update is None else {k: v for k, v in update.items() if k != "rewards"} | {
                "mean_reward": (sum(v for _, v in update["rewards"]) / len(update["rewards"])
                                if update["rewards"] else None)}}


def run_iteration(out: Path, i: int, config: dict, settings: SelfKnowledgeSettings, policy: Policy, pool: Pool,
                  heldout: Deduplicator, guard_tasks: list[Task]) -> dict:
    """One iteration, built in ``NNN.partial`` and published by rename; returns its summary."""
    import torch

    from knowrl.train import checkpoints

    began, seed = time.time(), config["seed"] * 1000 + i
    rng = random.Random(seed)
    torch.manual_seed(seed)
    final, partial = iteration_dir(out, i), iteration_dir(out, i).with_suffix(".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    data = analysis.run_data_side(policy, pool, heldout, settings, rng, i)
    update = update_policy(policy, config, settings, data.train, partial, i) if data.train else None
    if update:
        served = set(update["served"])
        for record in data.records:
            record["trained"] = record["id"] in served
    figures, items = guard_eval(policy, guard_tasks, settings, seed)
    summary = iteration_summary(i, data, update, pool) | {"guard": figures, "wall_time_s": round(time.time() - began, 1)}
    write_jsonl_atomic(partial / "tasks.jsonl", data.records)
    write_jsonl_atomic(partial / "pool.jsonl", [t.record() for t in pool.tasks])
    write_jsonl_atomic(partial / "guard.jsonl", items)
    write_json_atomic(partial / "summary.json", summary)
    policy.model.save_pretrained(str(partial / "adapter"))
    checkpoints.seal(partial, config, stage=STAGE, iteration=i, seed=seed)
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)
    return summary


def log_iteration(summary: dict) -> None:
    ratio, guard = summary["label_ratio"], summary["guard"]
    log.info("iteration %d: %s; label ratio feasible %.2f / infeasible %.2f; kept %d; guard accuracy %.1f%% "
             "(macro-F1 %.1f)", summary["iteration"], summary["decisions"], ratio["feasible"], ratio["infeasible"],
             summary["decisions"].get("keep", 0), guard["accuracy"]["value"], guard["macro_f1"]["value"])


def observe_guards(summary: dict, state: dict, alarm: guards.CollapseAlarm, stopper: guards.EarlyStop,
                   settings: SelfKnowledgeSettings) -> str | None:
    """Feed the collapse alarm and the early stop; the reason to stop, or None."""
    i, accuracy = summary["iteration"], summary["guard"]["accuracy"]["value"] / 100.0
    state["guard"].append({"iteration": i, "accuracy": accuracy})
    fired = alarm.observe(i, summary["label_ratio"])
    if fired:
        state["alarms"].append(fired)
        log.warning("collapse alarm: %.0f%% of the self-analysis labels are %s for %d iterations in a row",
                    100 * fired["share"], fired["label"], fired["streak"])
        if settings.guard["stop_on_collapse"]:
            return f"collapse onto {fired['label']}"
    if stopper.observe(i, accuracy):
        return (f"guard accuracy {accuracy:.3f} fell more than {stopper.max_drop} below its best "
                f"{stopper.best:.3f} (iteration {stopper.best_iteration})")
    return None


def final_iteration(state: dict) -> int:
    """The last iteration kept: an iteration that triggered a stop is rolled back to the one before it."""
    done = state["completed"]
    if state["stopped"]:
        done = [i for i in done if i < state["stopped"]["iteration"]]
    return done[-1] if done else 0


def finish(out: Path, config: dict, state: dict) -> dict:
    """``summary.json`` (per-iteration figures, alarms, stop, the final adapter) + provenance + SHA256SUMS."""
    from knowrl.train import checkpoints

    chosen = final_iteration(state)
    summaries = [read_json(iteration_dir(out, i) / "summary.json") for i in state["completed"]]
    summary = {"iterations": state["completed"], "final_iteration": chosen,
               "final_adapter": f"iterations/{chosen:03d}/adapter" if chosen else None,
               "guard": state["guard"], "alarms": state["alarms"], "stopped": state["stopped"],
               "per_iteration": summaries}
    write_json_atomic(out / "summary.json", summary)
    checkpoints.seal(out, config, stage=STAGE, final_iteration=chosen)
    return summary


def run(config: dict, out: str | Path, resume: bool = False) -> dict:
    """The whole loop; returns the run's summary."""
    out, settings = Path(out), SelfKnowledgeSettings.from_config(config)
    seed_tasks, heldout = load_tasks(settings.seed_set, "seed"), load_tasks(settings.heldout_set, "heldout")
    guard_tasks = guard_subset(seed_tasks if settings.guard["eval_set"] == "seed" else heldout,
                               settings.guard["max_tasks"], config["seed"])
    state = load_state(out, config, resume)
    out.mkdir(parents=True, exist_ok=True)
    last = state["completed"][-1] if state["completed"] else None
    policy = load_policy(config, iteration_dir(out, last) / "adapter" if last else None)
    pool = restore_pool(out, state, seed_tasks, settings.pool["max_size"])
    alarm = guards.CollapseAlarm(settings.guard["label_ratio_max"], settings.guard["patience"])
    stopper = guards.EarlyStop(settings.guard["max_drop"])
    for entry in state["guard"]:  # replay the published history (resume)
        stopper.observe(entry["iteration"], entry["accuracy"])
    for i in state["completed"]:
        alarm.observe(i, read_json(iteration_dir(out, i) / "summary.json")["label_ratio"])
    if not state["guard"]:
        figures, _ = guard_eval(policy, guard_tasks, settings, config["seed"])
        state["guard"].append({"iteration": 0, "accuracy": figures["accuracy"]["value"] / 100.0})
        stopper.observe(0, state["guard"][0]["accuracy"])
        write_json_atomic(out / "state.json", state)
    heldout_dedup = Deduplicator(settings.dedup_threshold, (t.task for t in heldout))
    for i in range((last or 0) + 1, settings.iterations + 1):
        if state["stopped"]:
            break
        summary = run_iteration(out, i, config, settings, policy, pool, heldout_dedup, guard_tasks)
        log_iteration(summary)
        state["completed"].append(i)
        reason = observe_guards(summary, state, alarm, stopper, settings)
        if reason:
            state["stopped"] = {"iteration": i, "reason": reason}
            log.warning("early stop at iteration %d: %s", i, reason)
        write_json_atomic(out / "state.json", state)
    return finish(out, config, state)
