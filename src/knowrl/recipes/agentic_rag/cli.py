"""``knowrl rag demo|train|eval|report``: the agentic retrieval recipe (heavy imports inside the handlers)."""

from __future__ import annotations

import argparse

from knowrl.cli_common import add_config_arguments, resolve_config
from knowrl.train.cli import add_resume_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    rag = subparsers.add_parser("rag", help="recipe agentic_rag: multi-turn KB search in GRPO (Search-R1 tags)",
                                description="Agentic retrieval RL on the same KB, GRPO trainer and evaluation "
                                            "(../shared/docs/RECIPES.md A). Settings: the agentic_rag section.")
    verbs = rag.add_subparsers(dest="verb", metavar="VERB", required=True)

    demo = verbs.add_parser("demo", help="two-hop demo questions + the corpus of their pages (train / held-out)")
    demo.add_argument("--corpus", help="corpus {title: {extract, description}} or JSONL (default: the demo corpus)")
    demo.add_argument("--out", default="results/rag/data", help="output folder (default results/rag/data)")
    add_config_arguments(demo)
    demo.set_defaults(handler=_demo)

    train = verbs.add_parser("train", help="GRPO with search rollouts over the KB (LoRA, TRL rollout_func)")
    train.add_argument("--data", help="RL questions (default agentic_rag.data.train)")
    train.add_argument("--kb", help="KB folder (default agentic_rag.kb)")
    train.add_argument("--init", help="`knowrl train sft` output to start from (default grpo.init; none = base)")
    train.add_argument("--out", default="results/rag/grpo", help="output folder (default results/rag/grpo)")
    add_resume_argument(train)
    add_config_arguments(train)
    train.set_defaults(handler=_train)

    ev = verbs.add_parser("eval", help="EM / F1 (bootstrap CIs) and searches per question on held-out questions")
    ev.add_argument("--questions", help="question file (default agentic_rag.data.heldout)")
    ev.add_argument("--kb", help="KB folder (default agentic_rag.kb)")
    ev.add_argument("--model", help="HF folder or .gguf (default model.policy)")
    ev.add_argument("--checkpoint", help="a `knowrl rag train` / `knowrl train` output folder (merged/ or adapter/)")
    ev.add_argument("--no-retrieval", action="store_true", help="answer without searching (the baseline row)")
    ev.add_argument("--label", help="row name in tables (default: the output folder's name)")
    ev.add_argument("--out", required=True, help="output folder")
    add_config_arguments(ev)
    ev.set_defaults(handler=_eval)

    report = verbs.add_parser("report", help="results.md / results.csv / em_f1.png (+ training curves)")
    report.add_argument("--run", action="append", required=True, metavar="LABEL=DIR", help="an eval folder")
    report.add_argument("--metrics", help="a training run's metrics.jsonl: training_curves.png")
    report.add_argument("--out", required=True, help="output folder")
    report.set_defaults(handler=_report)


def _demo(args: argparse.Namespace) -> int:
    import json

    from knowrl.recipes.agentic_rag.demo import make_demo

    config = resolve_config(args)
    corpus = args.corpus
    if not corpus:
        from knowrl.assets import AssetStore

        corpus = AssetStore().path("demo_corpus")
    demo = config["agentic_rag"]["demo"]
    manifest = make_demo(corpus, args.out, demo["n_train"], demo["n_heldout"], demo["n_distractors"], config["seed"])
    print(json.dumps(manifest, sort_keys=True))
    return 0


def _train(args: argparse.Namespace) -> int:
    from knowrl.recipes.agentic_rag import train

    config = resolve_config(args)
    print(train.main(config, data_path=args.data, kb_path=args.kb, out=args.out, init=args.init,
                     resume=args.resume))
    return 0


def _eval(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from knowrl.errors import ConfigError
    from knowrl.recipes.agentic_rag.evaluate import run_eval

    config = resolve_config(args)
    section = config["agentic_rag"]
    questions, kb = args.questions or section["data"]["heldout"], args.kb or section["kb"]
    if not questions or (not kb and not args.no_retrieval):
        raise ConfigError("pass --questions and --kb (or set agentic_rag.data.heldout and agentic_rag.kb)")
    model, adapter = args.model, None
    if args.checkpoint:
        from knowrl.eval.checkpoints import resolve_checkpoint

        spec = resolve_checkpoint(args.checkpoint, args.model)
        model, adapter = spec.model, spec.adapter
    summary = run_eval(config, model, questions, args.out, kb, adapter=adapter, retrieval=not args.no_retrieval,
                       label=args.label or Path(args.out).name, batch_size=section["eval"]["batch_size"])
    print(json.dumps({"label": summary["label"], "n": summary["n"], **{k: round(v["value"], 2)
                      for k, v in summary["figures"].items()}}))
    return 0


def _report(args: argparse.Namespace) -> int:
    from knowrl.errors import InputError
    from knowrl.recipes.agentic_rag.evaluate import write_report

    runs = {}
    for item in args.run:
        label, sep, folder = item.partition("=")
        if not sep or not label or not folder:
            raise InputError(f"--run {item!r}: expected LABEL=DIR")
        runs[label] = folder
    written = write_report(runs, args.out)
    if args.metrics:
        from pathlib import Path

        from knowrl.eval.plots import plot_training_curves
        from knowrl.files import read_jsonl

        written.append(plot_training_curves(list(read_jsonl(args.metrics)), Path(args.out) / "training_curves.png",
                                            title="Agentic retrieval GRPO"))
    print("\n".join(map(str, written)))
    return 0
