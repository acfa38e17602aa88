"""``knowrl verify DIR``: check an output folder's SHA256SUMS (checkpoints, tables, KBs, staged bundles)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from knowrl.errors import KnowRLError


def register(subparsers: argparse._SubParsersAction) -> None:
    verify = subparsers.add_parser(
        "verify", help="check SHA256SUMS (and provenance.json) of a checkpoint, table or bundle folder",
        description="Re-hash every file listed in DIR/SHA256SUMS; report changed, missing and unlisted "
                    "files. Exit 0 when all match, 1 otherwise.")
    verify.add_argument("directory", metavar="DIR")
    verify.add_argument("--allow-unlisted", action="store_true",
                        help="do not fail on files that SHA256SUMS does not list")
    verify.set_defaults(handler=_verify)


def _verify(args: argparse.Namespace) -> int:
    from knowrl.artifact.checksums import verify_sums

    root = Path(args.directory)
    if not root.is_dir():
        raise KnowRLError(f"{root} is not a folder")
    report = verify_sums(root, allow_unlisted=args.allow_unlisted)
    print(f"{root}: {report.summary()}")
    provenance = root / "provenance.json"
    if provenance.is_file():
        record = json.loads(provenance.read_text(encoding="utf-8"))
        git = record.get("git", {})
        print(f"  provenance: commit {git.get('commit')} (dirty={git.get('dirty')}), "
              f"config sha256 {str(record.get('config_sha256'))[:12]}, created {record.get('created_utc')}")
    return 0 if report.ok else 1
