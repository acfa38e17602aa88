"""Shared pieces of the ``knowrl`` command line: config arguments, logging, progress bars.

Stage modules (``knowrl/<stage>/cli.py``) define ``register(subparsers)`` and import heavy libraries (torch,
faiss, transformers) inside their handlers only, so ``knowrl --help`` stays instant.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("configuration")
    group.add_argument("--config", action="append", default=[], metavar="FILE",
                       help="YAML config layered over config/config.yaml (repeatable; later wins)")
    group.add_argument("--profile", metavar="NAME",
                       help="named profile from config/profiles/ (e.g. smoke, a800), applied before --config")
    group.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="dotted override, e.g. --set judge.backend=rule (repeatable; wins over files)")


def resolve_config(args: argparse.Namespace) -> dict:
    from knowrl.config import load_config

    return load_config(files=args.config, overrides=args.overrides, profile=args.profile)


def progress(iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str = "",
             unit: str = "it", **kwargs: Any):
    """A tqdm bar on stderr; in log files (no TTY) it updates at most every 30 s instead of spamming."""
    from tqdm.auto import tqdm

    interactive = sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, unit=unit, dynamic_ncols=True,
                mininterval=0.1 if interactive else 30.0, file=sys.stderr, **kwargs)


def setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for noisy in ("httpx", "httpcore", "urllib3", "filelock", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
