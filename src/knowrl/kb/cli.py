"""``knowrl kb build|search|import|export|info``; heavy imports happen inside the handlers."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from knowrl.cli_common import add_config_arguments, resolve_config


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("kb", help="build and query the knowledge base (FAISS + SQLite FTS5)",
                                   description="Knowledge base of passages: dense (FAISS), BM25 (SQLite FTS5) "
                                               "and hybrid retrieval, optionally restricted to page titles.")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    build = verbs.add_parser("build", help="build a KB from a Wikipedia dump, JSONL / JSON, wikiextractor output, "
                                           "wiki-18 JSONL, a SQLite documents table or the demo corpus")
    build.add_argument("--input", help="input (default: kb.corpus; 'demo' = the embedded demo corpus): "
                                       "enwiki-<date>-pages-articles[-multistream].xml[.bz2], a JSONL / JSON file, "
                                       "a wikiextractor output folder, wiki-18 JSONL, or a SQLite file with "
                                       "documents(title, text) (upstream knowledge_base.db, FActScore's DB)")
    build.add_argument("--titles-from", help="keep only the pages these titles name, through redirects: the RL "
                                             "data JSON ('title' fields, ';'-joined), a JSON list or one title per "
                                             "line (kb.titles_from); writes coverage.json + missing_titles.txt")
    build.add_argument("--link-neighbourhood", action="store_true", default=None,
                       help="dump input: also keep the pages the selected pages link to (kb.dump.link_neighbourhood)")
    build.add_argument("--dump-index", help="multistream index (default: found beside the dump; kb.dump.index)")
    build.add_argument("--processes", type=int, help="dump input: worker processes (kb.dump.processes)")
    _add_build_options(build)
    build.set_defaults(handler=_build)

    imp = verbs.add_parser("import", help="build a KB from an upstream KnowRL knowledge_base.db")
    imp.add_argument("--db", required=True, help="upstream SQLite file with documents(title, text)")
    _add_build_options(imp)
    imp.set_defaults(handler=_import)

    search = verbs.add_parser("search", help="print the top passages as JSON lines")
    search.add_argument("--kb", required=True, help="KB folder")
    search.add_argument("--query", action="append", required=True, help="query text (repeatable)")
    search.add_argument("--k", type=int, help="hits per query (default: kb.search.k)")
    search.add_argument("--titles", help="';'-joined page titles restricting the candidates")
    search.add_argument("--mode", choices=("dense", "bm25", "hybrid"), help="default: kb.search.mode")
    search.add_argument("--device", help="embedding device (default: kb.device)")
    add_config_arguments(search)
    search.set_defaults(handler=_search)

    export = verbs.add_parser("export", help="write the upstream layout documents(title, text)")
    export.add_argument("--kb", required=True)
    export.add_argument("--out", required=True, help="SQLite file to write")
    export.set_defaults(handler=_export)

    info = verbs.add_parser("info", help="print the KB's manifest summary as JSON")
    info.add_argument("--kb", required=True)
    info.set_defaults(handler=_info)


def _add_build_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="KB folder to create (built in OUT.partial, then renamed)")
    parser.add_argument("--strict", action="store_true", help="fail on the first bad record (with its line)")
    parser.add_argument("--force", action="store_true", help="replace an existing KB at --out")
    parser.add_argument("--embedder", help="sentence-transformers folder (default: kb.embedder)")
    parser.add_argument("--device", help="embedding device (default: kb.device)")
    parser.add_argument("--passage-tokens", type=int, help="token budget per passage (kb.passage_tokens)")
    parser.add_argument("--batch-size", type=int, help="passages per encoding batch (kb.embed_batch_size)")
    parser.add_argument("--index-type", choices=("auto", "flat", "hnsw", "ivfsq8", "ivfpq"),
                        help="FAISS index (kb.index.type)")
    parser.add_argument("--memory-budget-mb", type=int, help="index memory budget (kb.index.memory_budget_mb)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_config_arguments(parser)


def _settings(args: argparse.Namespace):
    from knowrl.kb.settings import KBSettings

    settings = KBSettings.from_config(resolve_config(args))
    flags = {"embedder": getattr(args, "embedder", None), "device": getattr(args, "device", None),
             "passage_tokens": getattr(args, "passage_tokens", None),
             "embed_batch_size": getattr(args, "batch_size", None)}
    flags["titles_from"] = getattr(args, "titles_from", None)
    settings = replace(settings, **{k: v for k, v in flags.items() if v is not None})
    index = {"type": getattr(args, "index_type", None), "memory_budget_mb": getattr(args, "memory_budget_mb", None)}
    dump = {"index": getattr(args, "dump_index", None), "processes": getattr(args, "processes", None),
            "link_neighbourhood": getattr(args, "link_neighbourhood", None)}
    return replace(settings, index=replace(settings.index, **{k: v for k, v in index.items() if v is not None}),
                   dump=replace(settings.dump, **{k: v for k, v in dump.items() if v is not None}))


def _summary(manifest: dict, out: str) -> None:
    c = manifest["counts"]
    reasons = ", ".join(f"{k} {v}" for k, v in c["skipped_by_reason"].items()) or "none"
    print(f"KB {out}: {c['input_records']} input records = {c['kept']} kept + {c['skipped']} skipped "
          f"({reasons}); {c['passages']} passages; {c.get('redirects', 0)} redirects; "
          f"index {manifest['index']['type']}", file=sys.stderr)
    cov = manifest.get("coverage")
    if cov:
        print(f"titles: {cov['requested']} requested, {cov['found']} found ({cov['direct']} directly, "
              f"{cov['case_insensitive']} ignoring case, {cov['via_redirect']} through a redirect), "
              f"{cov['missing']} missing -> {out}/missing_titles.txt", file=sys.stderr)
    print(json.dumps({"kb": out, **c, "index": manifest["index"]["type"], "coverage": cov}))


def _build(args: argparse.Namespace) -> int:
    from knowrl.kb.build import build_kb

    settings = _settings(args)
    config = resolve_config(args)
    source = args.input or config["kb"]["corpus"]
    if source == "demo":
        from knowrl.assets import AssetStore

        source = AssetStore().path("demo_corpus")
    manifest = build_kb(source, args.out, settings, strict=args.strict, force=args.force,
                        show_progress=not args.no_progress)
    _summary(manifest, args.out)
    return 0


def _import(args: argparse.Namespace) -> int:
    from knowrl.kb.build import import_upstream

    manifest = import_upstream(args.db, args.out, _settings(args), strict=args.strict, force=args.force,
                               show_progress=not args.no_progress)
    _summary(manifest, args.out)
    return 0


def _search(args: argparse.Namespace) -> int:
    from knowrl.kb.knowledge_base import KnowledgeBase, split_titles

    settings = _settings(args)
    titles = split_titles(args.titles) if args.titles else None
    with KnowledgeBase.open(args.kb, device=settings.device, search=settings.search) as kb:
        results = kb.search(args.query, k=args.k, titles=[titles] * len(args.query) if titles else None,
                            mode=args.mode)
    for qi, hits in enumerate(results):
        for rank, hit in enumerate(hits, 1):
            print(json.dumps({"query": qi, "rank": rank, "title": hit.title, "text": hit.text,
                              "passage_id": hit.passage_id, "score": round(hit.score, 6)}, ensure_ascii=False))
    return 0


def _export(args: argparse.Namespace) -> int:
    from knowrl.kb.upstream import export_upstream

    count = export_upstream(args.kb, args.out)
    print(f"wrote {count} documents to {args.out}", file=sys.stderr)
    return 0


def _info(args: argparse.Namespace) -> int:
    from knowrl.kb.knowledge_base import KnowledgeBase

    with KnowledgeBase.open(args.kb) as kb:
        print(json.dumps(kb.info(), indent=2))
    return 0
