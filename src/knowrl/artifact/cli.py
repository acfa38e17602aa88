"""``knowrl verify DIR`` (SHA256SUMS of checkpoints, tables, bundles) and ``knowrl stage OUT`` (air-gapped bundles)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from knowrl.cli_common import add_config_arguments, resolve_config
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

    stage = subparsers.add_parser(
        "stage", help="bundle every asset and staged input of a config for an air-gapped cluster",
        description="Copy the pinned asset wheels and every staged input the resolved config names (models, "
                    "KB corpus, RL/SFT data, benchmark files) into OUT with a SHA256SUMS, and the settings of "
                    "--config/--set as given. A config with run.kind paper or rehearsal is refused while an input "
                    "is unset or a demo default. On the air-gapped side: knowrl verify OUT, then knowrl stage "
                    "--localize OUT (OUT/staged.yaml: those settings, paths in the bundle), then run with "
                    "--config OUT/staged.yaml.")
    stage.add_argument("out", metavar="OUT")
    stage.add_argument("--localize", action="store_true",
                       help="OUT is an existing bundle: verify it and write OUT/staged.yaml for this location")
    stage.add_argument("--python-wheels", nargs="?", const=True, default=False, metavar="WHEELS",
                       help="also the locked CPU Python wheels: downloaded (connected side), or copied from WHEELS, "
                            "a folder of --only-python-wheels (the one the images were built from)")
    stage.add_argument("--only-python-wheels", action="store_true",
                       help="OUT is just the wheel folder (wheels, hashed requirements.txt, SHA256SUMS): the build "
                            "context of containers/Containerfile; no config needed")
    stage.add_argument("--images", nargs="+", default=[], metavar="TAR",
                       help="image archives to carry in OUT/images (podman save -o knowrl-cpu.tar ...)")
    stage.add_argument("--cache", help="asset cache (default: $KNOWRL_ASSETS or ~/.cache/knowrl/assets)")
    add_config_arguments(stage)
    stage.set_defaults(handler=_stage)


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


def _stage(args: argparse.Namespace) -> int:
    from knowrl.artifact.stage import localize, stage, user_settings

    if args.localize:
        print(f"wrote {localize(args.out)}; run with --config {Path(args.out) / 'staged.yaml'}")
        return 0
    if args.only_python_wheels:
        from knowrl.artifact.wheels import download

        print(f"staged {len(list(download(args.out).glob('*.whl')))} wheels into {args.out}")
        return 0
    manifest = stage(resolve_config(args), args.out, asset_cache=args.cache, python_wheels=args.python_wheels,
                     images=args.images, settings=user_settings(args.config, args.overrides), profile=args.profile)
    print(f"staged {len(manifest['assets'])} asset wheels and {len(manifest['inputs'])} inputs into {args.out}")
    for key, entry in sorted(manifest["inputs"].items()):
        print(f"  {key}: {entry['original']}")
    return 0
