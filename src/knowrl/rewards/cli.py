"""``knowrl reward score``: (re)score saved rollouts offline with any backend mix, through the training code path."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from knowrl.cli_common import add_config_arguments

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("reward", help="score completions with the KnowRL reward",
                                   description="KnowRL rewards (METHOD 3): format, correctness, factuality.")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    score = verbs.add_parser("score", help="score saved rollouts; writes the per-completion log and reward card",
                             description="Each rollout line: {prompt_id?, question, answers, title, completion} "
                                         "(completion: text or chat messages). Same code path as training.")
    score.add_argument("--rollouts", required=True, metavar="FILE", help="rollouts JSONL")
    score.add_argument("--out", required=True, metavar="DIR",
                       help="output folder: rewards.jsonl, reward_card.json, metrics.json, provenance.json")
    score.add_argument("--batch-size", type=int, default=80, metavar="N",
                       help="completions per reward call (default 80 = one KnowRL optimizer step)")
    add_config_arguments(score)
    score.set_defaults(handler=_score)


def _batches(rows: list[dict], size: int):
    for start in range(0, len(rows), max(1, size)):
        yield rows[start:start + size]


def _score(args: argparse.Namespace) -> int:
    from knowrl.artifact import provenance
    from knowrl.cli_common import progress, resolve_config
    from knowrl.errors import InputError
    from knowrl.files import read_jsonl, sha256_file, write_json_atomic
    from knowrl.rewards.scorer import RewardScorer

    config = resolve_config(args)
    out = Path(args.out)
    config["reward"]["log"]["dir"] = str(out)
    try:
        rows = list(read_jsonl(args.rollouts))
    except ValueError as exc:
        raise InputError(str(exc)) from None
    bad = [i for i, r in enumerate(rows, 1) if "completion" not in r]
    if bad:
        raise InputError(f"{args.rollouts}: line {bad[0]} has no 'completion' ({len(bad)} such lines)")
    totals: list[dict] = []
    with RewardScorer.from_config(config) as scorer:  # writes out/reward_card.json
        with progress(total=len(rows), desc="reward", unit="completion") as bar:
            for batch in _batches(rows, args.batch_size):
                columns = {name: [r.get(name) for r in batch] for name in ("question", "answers", "title")}
                columns["prompt_id"] = [r.get("prompt_id") for r in batch]
                for reward_function in scorer.reward_functions():  # exactly as the trainer calls them
                    reward_function(prompts=None, completions=[r["completion"] for r in batch], **columns)
                totals.append(scorer.step_metrics())
                bar.update(len(batch))
        summary = {"batches": totals, "judge": _stats(scorer.judge),
                   "facts": scorer.facts.stats() if scorer.facts else None}
    write_json_atomic(out / "metrics.json", summary)
    write_json_atomic(out / "provenance.json",
                      provenance(config, rollouts={"path": str(args.rollouts),
                                                   "sha256": sha256_file(args.rollouts), "lines": len(rows)}))
    print(f"scored {len(rows)} completions -> {out}")
    return 0


def _stats(judge) -> dict | None:
    try:
        return judge.stats()
    except Exception:  # stats are informative only
        return None
