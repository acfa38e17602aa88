"""``knowrl selfknow run|eval``: the self-knowledge recipe (heavy imports inside the handlers)."""

from __future__ import annotations

import argparse

from knowrl.cli_common import add_config_arguments, resolve_config


def register(subparsers: argparse._SubParsersAction) -> None:
    selfknow = subparsers.add_parser(
        "selfknow", help="recipe: self-knowledge RL with consensus rewards (feasible / infeasible tasks)",
        description="RECIPES B: the policy generates tasks, classifies each k times, and is trained with GRPO on "
                    "its own consensus; settings in the self_knowledge section.")
    verbs = selfknow.add_subparsers(dest="verb", metavar="VERB", required=True)

    run = verbs.add_parser("run", help="the iteration loop (introspection -> self-analysis -> consensus -> "
                                       "filter -> pool -> GRPO), one sealed folder per iteration")
    run.add_argument("--out", default="results/self_knowledge/run", help="output folder")
    run.add_argument("--resume", action="store_true", help="continue after the last published iteration")
    add_config_arguments(run)
    run.set_defaults(handler=_run)

    evaluate = verbs.add_parser("eval", help="base vs trained on the held-out labelled set, with bootstrap CIs")
    evaluate.add_argument("--run", default="results/self_knowledge/run", help="a finished `selfknow run` folder")
    evaluate.add_argument("--out", default="results/self_knowledge/eval", help="output folder")
    add_config_arguments(evaluate)
    evaluate.set_defaults(handler=_eval)


def _run(args: argparse.Namespace) -> int:
    from knowrl.recipes.self_knowledge import loop

    summary = loop.run(resolve_config(args), args.out, resume=args.resume)
    print(f"{args.out}: {len(summary['iterations'])} iteration(s), final iteration {summary['final_iteration']}, "
          f"{len(summary['alarms'])} collapse alarm(s), stopped: {summary['stopped'] or 'no'}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from knowrl.recipes.self_knowledge import report

    report.main(resolve_config(args), args.run, args.out)
    return 0
