"""``knowrl eval run|regrade|table|plot``."""

from __future__ import annotations

import argparse

from knowrl.cli_common import add_config_arguments
from knowrl.errors import InputError

BENCHMARKS = ("simpleqa", "chinese_simpleqa", "truthfulqa", "gpqa", "aime25", "qa")


def _runs(pairs: list[str]) -> dict[str, str]:
    runs = {}
    for pair in pairs or []:
        label, sep, folder = pair.partition("=")
        if not sep or not label or not folder:
            raise InputError(f"--run {pair!r} is not LABEL=DIR (e.g. base=results/eval/base)")
        runs[label] = folder
    return runs


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="evaluate models on the paper's benchmarks; tables and plots",
                                   description="Benchmarks (METHOD 8) with local graders, bootstrap CIs, "
                                               "per-item outputs, tables beside the paper's numbers.")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    run = verbs.add_parser("run", help="generate and grade one model on one benchmark")
    run.add_argument("--benchmark", required=True, choices=BENCHMARKS)
    run.add_argument("--data", help="benchmark file (default: eval.benchmarks.<name>.path)")
    run.add_argument("--model", help="HF model folder or .gguf file (default: model.policy; null = tiny LM)")
    weights = run.add_mutually_exclusive_group()
    weights.add_argument("--adapter", help="PEFT adapter folder on top of --model")
    weights.add_argument("--checkpoint", help="a `knowrl train sft|grpo` output folder: its merged/ model, or its "
                                              "adapter/ on the model it was trained from")
    run.add_argument("--label", default="base", help="model label in tables: base, sft, knowrl, ...")
    run.add_argument("--n", type=int, help="subsample to N items (default: eval.benchmarks.<name>.n)")
    run.add_argument("--out", required=True, help="output folder (items.jsonl, summary.json, ...)")
    add_config_arguments(run)
    run.set_defaults(handler=_run)

    regrade = verbs.add_parser("regrade", help="re-grade saved responses (items.jsonl) with the current grader")
    regrade.add_argument("run_dir", help="a run folder or its items.jsonl")
    regrade.add_argument("--out", required=True, help="output folder for the re-graded run")
    add_config_arguments(regrade)
    regrade.set_defaults(handler=_regrade)

    table = verbs.add_parser("table", help="Markdown, CSV and LaTeX tables from run folders")
    table.add_argument("--run", action="append", required=True, metavar="LABEL=DIR",
                       help="a model's run folder holding <benchmark>/summary.json (repeatable, row order)")
    table.add_argument("--paper-model", help="paper numbers to show beside ours (default: eval.paper_model)")
    table.add_argument("--out", required=True)
    add_config_arguments(table)
    table.set_defaults(handler=_table)

    examples = verbs.add_parser("examples", help="before/after on the same items: grade transitions and examples")
    examples.add_argument("--before", required=True, metavar="LABEL=DIR", help="e.g. sft=results/eval/sft/qa")
    examples.add_argument("--after", required=True, metavar="LABEL=DIR", help="e.g. knowrl=results/eval/knowrl/qa")
    examples.add_argument("--k", type=int, default=2, help="examples per kind (default 2)")
    examples.add_argument("--seed", type=int, default=0)
    examples.add_argument("--out", required=True, help="Markdown file to write")
    examples.set_defaults(handler=_examples)

    plot = verbs.add_parser("plot", help="PNG training curves and benchmark bars with CIs")
    plot.add_argument("--metrics", help="training metrics JSONL (per-step rewards, refusal rate, KL, length)")
    plot.add_argument("--run", action="append", metavar="LABEL=DIR", help="run folders for benchmark bars")
    plot.add_argument("--paper-model")
    plot.add_argument("--out", required=True)
    add_config_arguments(plot)
    plot.set_defaults(handler=_plot)


def _run(args: argparse.Namespace) -> int:
    from knowrl.cli_common import resolve_config
    from knowrl.eval.run import run_eval

    config = resolve_config(args)
    doc = run_eval(config, args.benchmark, model=args.model, adapter=args.adapter, checkpoint=args.checkpoint,
                   out=args.out, label=args.label, data=args.data, n=args.n)
    for mode, part in doc["modes"].items():
        shown = ", ".join(f"{k} {v['value']:.2f} [{v['ci_low']:.2f}, {v['ci_high']:.2f}]"
                          for k, v in part["figures"].items())
        print(f"{args.label}\t{args.benchmark}\t{mode}\t{shown}")
    return 0


def _regrade(args: argparse.Namespace) -> int:
    from knowrl.cli_common import resolve_config
    from knowrl.eval.run import regrade

    doc = regrade(resolve_config(args), args.run_dir, args.out)
    print(f"regraded {args.run_dir} -> {args.out} ({', '.join(doc['modes'])})")
    return 0


def _paper_model(args: argparse.Namespace, config: dict) -> str | None:
    return args.paper_model or config.get("eval", {}).get("paper_model")


def _table(args: argparse.Namespace) -> int:
    from knowrl.cli_common import resolve_config
    from knowrl.eval.report import write_tables

    config = resolve_config(args)
    for path in write_tables(_runs(args.run), args.out, _paper_model(args, config), config):
        print(path)
    return 0


def _plot(args: argparse.Namespace) -> int:
    from knowrl.cli_common import resolve_config
    from knowrl.eval.report import write_plots

    if not args.metrics and not args.run:
        raise InputError("nothing to plot: give --metrics and/or --run")
    config = resolve_config(args)
    for path in write_plots(args.out, _runs(args.run), args.metrics, _paper_model(args, config), config):
        print(path)
    return 0


def _examples(args: argparse.Namespace) -> int:
    from knowrl.eval.examples import main_records, render_examples
    from knowrl.eval.tables import MODEL_NAMES
    from knowrl.files import write_text_atomic

    (a, before), (b, after) = (next(iter(_runs([pair]).items())) for pair in (args.before, args.after))
    text = render_examples(main_records(before), main_records(after),
                           (MODEL_NAMES.get(a, a), MODEL_NAMES.get(b, b)), args.k, args.seed)
    write_text_atomic(args.out, text)
    print(args.out)
    return 0
