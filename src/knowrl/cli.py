"""The ``knowrl`` command: one program, a sub-command per stage (``knowrl <noun> <verb>``)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from knowrl import __version__
from knowrl.cli_common import setup_logging
from knowrl.errors import KnowRLError

# Each module defines register(subparsers). Order = order in --help.
STAGE_CLIS = (
    "knowrl.assets.cli",
    "knowrl.kb.cli",
    "knowrl.judge.cli",
    "knowrl.rewards.cli",
    "knowrl.train.cli",
    "knowrl.train.data_cli",
    "knowrl.eval.cli",
    "knowrl.artifact.cli",
    # sibling recipes append their CLI modules here (knowrl.recipes.<recipe>.cli)
    "knowrl.recipes.agentic_rag.cli",
    "knowrl.recipes.self_knowledge.cli",
)

log = logging.getLogger("knowrl")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="knowrl",
        description="KnowRL: knowledge base, local judges, rewards, SFT + GRPO training and evaluation "
                    "for LLM factuality, offline. Each command has --help.",
    )
    parser.add_argument("--version", action="version", version=f"knowrl {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-v debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in STAGE_CLIS:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    setup_logging(-1 if args.quiet else args.verbose)
    try:
        result = args.handler(args)
    except KnowRLError as exc:
        print(f"knowrl: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except FileNotFoundError as exc:
        print(f"knowrl: error: file not found: {exc.filename or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("knowrl: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
