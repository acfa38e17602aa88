"""Benchmark: the time split of a GRPO step with multi-turn search rollouts (generation / retrieval / reward /
update), with every search of a generation round in one batched KB call vs one KB call per search (the baseline,
measured in the same run on the same questions and seed). Target (issue 16): retrieval under 10% of a step on the
demo KB on CPU.

Workload: the embedded SmolLM2-135M with a fresh LoRA, seeded two-hop demo questions (``knowrl rag demo``),
``--steps`` GRPO steps per operating point. The base model rarely writes the tags, so each turn's action is forced
(``ForcedSearch``): the model really generates its turn (that cost is measured), then the turn is rewritten as
``<think>`` + the model's own text + ``</think><search>question</search>`` (an answer on the final turn), so every
rollout searches ``max_turns`` times and the update trains on sequences of realistic length.
Usage: ``python benchmarks/bench_agentic_rag.py --kb .cache/kb-tests/<hash>/vital`` (any built KB folder).
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from knowrl.artifact.provenance import provenance
from knowrl.files import write_json_atomic

REPO = Path(__file__).resolve().parents[1]
_QUESTION = re.compile(r"Question: (.+?)(?:<\|im_end\|>|\n|$)")


class ForcedSearch:
    """Wraps the real generator: keeps its cost and its text, forces the action (search, or answer when final)."""

    def __init__(self, inner, tokenizer, max_turns: int):
        self.inner, self.tokenizer, self.max_turns = inner, tokenizer, max_turns

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def generate(self, contexts, caps):
        out = []
        for context, cap, (new, _) in zip(contexts, caps, self.inner.generate(contexts, caps)):
            text = self.tokenizer.decode(context, skip_special_tokens=False)
            turn = text.count("<information>Doc")  # observations so far (the instruction names the tag too)
            question = (_QUESTION.findall(text) or ["the question"])[0].strip()
            tail = self._ids(f"</think><search>{question}</search>" if turn < self.max_turns
                             else "</think><answer>unknown</answer>")
            own = self._ids(self.tokenizer.decode(new, skip_special_tokens=True).replace("<", " "))
            head = self._ids("<think>")
            room = max(cap - len(head) - len(tail), 0)
            out.append(((head + own[:room] + tail)[:cap], None))
        return out


def run_point(config: dict, data: Path, kb: str, batched: bool, out: Path) -> dict:
    """GRPO steps at one operating point; the per-step time split from the trainer's logged metrics."""
    import dataclasses

    from knowrl.recipes.agentic_rag.data import load_questions, rag_dataset
    from knowrl.recipes.agentic_rag.retrieval import KBRetriever
    from knowrl.recipes.agentic_rag.rewards import RagRewards
    from knowrl.recipes.agentic_rag.rollout import make_rollout_func
    from knowrl.recipes.agentic_rag.settings import RagSettings
    from knowrl.train import grpo

    settings = dataclasses.replace(RagSettings.from_config(config), batched=batched)
    records, _ = load_questions(data)
    retriever = KBRetriever.open(kb, settings.mode, settings.k, batched)
    try:
        run = grpo.setup(config, data, out, None, scorer=RagRewards(settings.reward),
                         make_dataset=lambda tok: rag_dataset(records, tok, config["grpo"]["max_prompt_length"]))
        run["trainer_kwargs"] = {"rollout_func": make_rollout_func(
            settings, retriever, wrap=lambda gen, tok: ForcedSearch(gen, tok, settings.max_turns))}
        trainer = grpo.train(config, run, out)
    finally:
        retriever.close()
    rows = [r for r in trainer.state.log_history if "time/step_s" in r][1:]  # first step = warm-up
    mean = lambda key: statistics.fmean(r[key] for r in rows)  # noqa: E731
    split = {"generation_s": mean("time/rollout_generation_s"), "retrieval_s": mean("time/retrieval_s"),
             "reward_s": mean("time/reward_s"), "update_s": mean("time/update_s"), "step_s": mean("time/step_s")}
    return {"mode": settings.mode, "batched": batched, "timed_steps": len(rows),
            **{k: round(v, 4) for k, v in split.items()},
            "retrieval_share": round(split["retrieval_s"] / split["step_s"], 5),
            "searches_per_completion": round(mean("rag/searches"), 3),
            "kb_calls_per_step": round(mean("rag/retrieval_calls"), 2) if batched else None,
            "completions_per_step": trainer.args.per_device_train_batch_size}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kb", required=True, help="a built KB folder (the demo KB: .cache/kb-tests/*/vital)")
    parser.add_argument("--modes", default="bm25,dense", help="KB search modes, comma-separated")
    parser.add_argument("--steps", type=int, default=2, help="GRPO steps per point (the first is warm-up)")
    parser.add_argument("--questions", type=int, default=1, help="questions per step (x --generations rollouts)")
    parser.add_argument("--generations", type=int, default=4, help="rollouts per question")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "agentic_rag.json"))
    args = parser.parse_args(argv)

    import os

    import torch

    from knowrl.config import load_config
    from knowrl.recipes.agentic_rag.demo import make_demo

    torch.set_num_threads(args.threads)
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    from knowrl.assets import AssetStore

    records_out = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_demo(AssetStore().path("demo_corpus"), tmp / "demo", 16, 4, 0, seed=0)
        for mode in args.modes.split(","):
            for batched in (True, False):
                config = load_config(profile="rag_smoke", overrides=[
                    f"model.cache_dir={REPO / '.cache' / 'models'}", f"grpo.max_steps={args.steps}",
                    "grpo.save_steps=1000", "grpo.logging_steps=1", "grpo.save_merged=false", "grpo.init=null",
                    f"grpo.num_generations={args.generations}", "grpo.gradient_accumulation_steps=1",
                    f"grpo.per_device_batch_size={args.questions * args.generations}",
                    f"agentic_rag.retriever.mode={mode}"])
                began = time.perf_counter()
                point = run_point(config, tmp / "demo" / "train.json", args.kb, batched, tmp / f"{mode}-{batched}")
                point["wall_s"] = round(time.perf_counter() - began, 1)
                print(point, flush=True)
                records_out.append(point)
    record = {"benchmark": "agentic_rag", "kb": str(args.kb), "threads": args.threads, "steps": args.steps,
              "questions_per_step": args.questions, "generations": args.generations, "points": records_out,
              "target": "retrieval_share < 0.10",
              "target_met": all(p["retrieval_share"] < 0.10 for p in records_out),
              "provenance": provenance(None, benchmark="bench_agentic_rag")}
    write_json_atomic(args.out, record)
    return record


if __name__ == "__main__":
    main()
