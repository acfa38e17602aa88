"""Benchmark: a KB straight from a Wikipedia dump vs wikiextractor followed by the project's JSONL build.

Input: seeded, generated MediaWiki exports in the real format (``tests/kb/dumpgen.py``: multistream bz2 + index;
article-like wikitext around real sentences of the vital corpus, with redirects and other-namespace pages) at two
sizes. Each measured step runs in its own process, so peak RSS is that step's alone.

Sections (one JSON record each, all in ``--out``):
  extract   text side only (no embedding): ``Builder.ingest`` from the dump with 1 and 2 processes, vs
            ``python -m wikiextractor --json`` (1 and 2 processes) + the JSONL build's ingest of its output;
            pages/s, MB/s of XML, CPU seconds, peak RSS of the main process and of the largest worker
  full      the whole build (embedding included) on a small dump: dump -> KB vs wikiextractor -> JSONL -> KB
  rl        ``--titles-from`` the RL data on the larger dump (RL titles planted as articles and redirects):
            scan + select + extract + embed + index, with the coverage report
  project   the full English dump on 16 cores from the measured CPU seconds per MB of XML (the serial part,
            the SQLite writer in the main process, bounds it from below), and the RL-filtered KB from it
            (``--reproject FILE`` recomputes these from a results file without measuring again)

Run: ``.venv/bin/python benchmarks/bench_kb_dump.py`` (needs ``pip install -c constraints.txt -e '.[bench]'``
and ../shared/data). Writes benchmarks/results/kb_dump.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))                                    # tests/kb/dumpgen.py: the export-format writer
VITAL = REPO.parent / "shared" / "data" / "wiki_vital4_en" / "articles.jsonl"
RL_DATA = REPO.parent / "shared" / "data" / "knowrl" / "knowrl_RLdata.json"
# Order of magnitude of an English pages-articles dump (2023-11): ~22 GB bz2, ~100 GB of XML, ~23M pages of which
# ~6.8M articles. Assumptions for the projection, not measured here: pass your dump's figures to recompute.
ENWIKI_XML_GB, ENWIKI_PAGES = 100.0, 23_000_000


# -- input --------------------------------------------------------------------------------------------------
def sentences(n: int, seed: int) -> list[str]:
    out = []
    with open(VITAL, encoding="utf-8") as fh:
        for line in fh:
            out += [s.strip() + "." for s in re.split(r"(?<=[a-z])\.\s+", json.loads(line)["text"])
                    if 40 < len(s) < 300]
    random.Random(seed).shuffle(out)
    return out[:n]


def rl_titles(n: int, seed: int) -> list[str]:
    from knowrl.kb.titles import read_titles

    titles = read_titles(RL_DATA)
    return random.Random(seed).sample(titles, n)


def make_dump(path: Path, n_pages: int, sents: list[str], seed: int, planted: list[str] = (), redirects: int = 0):
    """Write a multistream dump; ``planted`` RL titles replace the first article titles, and the last
    ``redirects`` of them become redirects to planted articles instead."""
    from tests.kb.dumpgen import Page, page_xml, realistic_pages, write_dump

    articles = list(planted[: len(planted) - redirects])
    stats = {"pages": 0, "articles": 0, "redirects": 0, "other_ns": 0, "xml_bytes": 0}

    def pages():
        made = 0
        for page in realistic_pages(n_pages - redirects, sents, seed=seed):
            if page.ns == 0 and not page.redirect and made < len(articles):
                page = Page(articles[made], page.text)
                made += 1
            yield page
        for i, title in enumerate(planted[len(articles):]):
            yield Page(title, f"#REDIRECT [[{articles[i % len(articles)]}]]", redirect=articles[i % len(articles)])

    def counted():
        for page in pages():
            stats["pages"] += 1
            kind = "redirects" if page.redirect else ("articles" if page.ns == 0 else "other_ns")
            stats[kind] += 1
            stats["xml_bytes"] += len(page_xml(page, stats["pages"]).encode())
            yield page

    start = time.perf_counter()
    write_dump(path, counted(), multistream=True)
    stats.update(bz2_bytes=path.stat().st_size, generate_s=round(time.perf_counter() - start, 1))
    return stats


# -- measured steps (each in a fresh process) -----------------------------------------------------------------
WRAPPER = """
import json, resource, subprocess, sys, time
import psutil
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:])
root, total, largest = psutil.Process(proc.pid), 0, 0
while proc.poll() is None:                      # sample the process tree's resident sets (spawned workers too)
    rss = []
    try:
        for p in [root, *root.children(recursive=True)]:
            try:
                rss.append(p.memory_info().rss)
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    total, largest = max(total, sum(rss)), max(largest, max(rss, default=0))
    time.sleep(0.2)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": proc.returncode, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
                  "peak_rss_sum_mb": total / 2**20, "peak_rss_largest_mb": largest / 2**20}))
"""


def measured(argv: list[str]) -> dict:
    """Run ``argv`` under a wrapper process: wall, CPU of all descendants, and sampled peak RSS (whole tree and
    largest process; ru_maxrss would count the parent's pages that a spawned worker holds before its exec)."""
    proc = subprocess.run([sys.executable, "-c", WRAPPER, *argv], capture_output=True, text=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if out["rc"] != 0:
        raise RuntimeError(f"{argv[:4]} failed: {proc.stderr[-2000:]}")
    return {k: round(v, 2) for k, v in out.items() if k != "rc"}


def step(name: str, result: Path, *args: str) -> list[str]:
    return [sys.executable, __file__, "--step", name, "--result", str(result), *map(str, args)]


def run_step(args) -> None:
    """Inside the measured process: ``ingest`` (text side only) or ``build`` (everything)."""
    import torch

    torch.set_num_threads(args.threads)
    from dataclasses import replace

    from knowrl.kb import KBSettings
    from knowrl.kb.build import Builder, build_kb
    from knowrl.kb.sources import open_source
    from knowrl.kb.titles import read_titles

    settings = KBSettings(embedder=args.embedder, titles_from=args.titles_from)
    settings = replace(settings, dump=replace(settings.dump, processes=args.processes))
    titles = read_titles(args.titles_from) if args.titles_from else None
    if args.step == "ingest":
        builder = Builder(open_source(args.input, settings, titles=titles), args.kb, settings, titles=titles,
                          show_progress=False)
        builder.embedder.model                      # loaded first, so the CPU counted below is the text side's
        before = _cpu()
        builder.ingest()
        out = {"timings_s": builder.timings, "counts": _ingest_counts(builder.work), "coverage": builder.coverage}
    else:
        before = _cpu()
        manifest = build_kb(args.input, args.kb, settings, show_progress=False)
        out = {k: manifest.get(k) for k in ("timings_s", "counts", "coverage", "source_report")}
    after = _cpu()
    out.update(main_cpu_s=round(after[0] - before[0], 2), workers_cpu_s=round(after[1] - before[1], 2))
    Path(args.result).write_text(json.dumps(out))


def _cpu() -> tuple[float, float]:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def _ingest_counts(work: Path) -> dict:
    import sqlite3

    from knowrl.kb import store

    conn = sqlite3.connect(work / "kb.sqlite")
    try:
        return {"input_records": store.get_state(conn, "ingest")["seen"],
                "documents": conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0],
                "passages": conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0],
                "passage_chars": conn.execute("SELECT SUM(LENGTH(text)) FROM passages").fetchone()[0],
                "skipped_by_reason": store.get_state(conn, "skipped", {})}
    finally:
        conn.close()


def ours(tmp: Path, dump: Path, args, processes: int, kind: str = "ingest", titles: str | None = None) -> dict:
    result, kb = tmp / "result.json", tmp / f"kb-{kind}-{processes}"
    extra = ["--titles-from", titles] if titles else []
    usage = measured(step(kind, result, "--input", dump, "--kb", kb, "--processes", processes, "--embedder",
                          args.embedder, "--threads", args.threads, *extra))
    out = {**usage, **json.loads(result.read_text())}
    shutil.rmtree(kb, ignore_errors=True)
    shutil.rmtree(kb.with_name(kb.name + ".partial"), ignore_errors=True)
    return out


def wikiextractor(tmp: Path, dump: Path, processes: int) -> tuple[dict, Path]:
    folder = tmp / f"extracted-{processes}"
    shutil.rmtree(folder, ignore_errors=True)
    usage = measured([sys.executable, "-m", "wikiextractor.WikiExtractor", "--json", "--processes", str(processes),
                      "-q", "-o", str(folder), str(dump)])
    return usage, folder


# -- sections -------------------------------------------------------------------------------------------------
def rates(run: dict, stats: dict) -> dict:
    """Rates over the text side: the ingest phase's wall time where the step reports it (the model load, the
    same for both paths, left out), and its CPU seconds in all processes."""
    wall = run.get("timings_s", {}).get("ingest", run["wall_s"]) + run.get("timings_s", {}).get("select", 0)
    cpu = run["main_cpu_s"] + run["workers_cpu_s"] if "main_cpu_s" in run else run["cpu_s"]
    mb = stats["xml_bytes"] / 2**20
    return {"text_wall_s": round(wall, 2), "text_cpu_s": round(cpu, 2), "pages_per_s": round(stats["pages"] / wall, 1),
            "articles_per_s": round(stats["articles"] / wall, 1), "xml_mb_per_s": round(mb / wall, 2),
            "xml_mb_per_cpu_s": round(mb / cpu, 3)}


def bench_extract(args, tmp: Path, dump: Path, stats: dict, processes: list[int]) -> list[dict]:
    records = []
    for p in processes:
        run = ours(tmp, dump, args, p)
        records.append({"section": "extract", "path": "knowrl dump -> KB text (ingest)", "pages": stats["pages"],
                        "processes": p, **run, **rates(run, stats)})
        print(json.dumps(records[-1]), file=sys.stderr)
    for p in processes:
        extract, folder = wikiextractor(tmp, dump, p)
        ingest = ours(tmp, folder, args, 1)                       # the project's JSONL build of its output
        shutil.rmtree(folder, ignore_errors=True)
        total = {"wall_s": round(extract["wall_s"] + ingest["timings_s"]["ingest"], 2),
                 "cpu_s": round(extract["cpu_s"] + ingest["main_cpu_s"], 2)}
        records.append({"section": "extract", "path": "wikiextractor -> JSONL -> KB text (ingest)",
                        "pages": stats["pages"], "processes": p, "wikiextractor": {**extract, **rates(extract, stats)},
                        "jsonl_ingest": ingest, **total, **rates(total, stats)})
        print(json.dumps(records[-1]), file=sys.stderr)
    return records


def bench_full(args, tmp: Path, sents: list[str]) -> list[dict]:
    dump = tmp / "small-multistream.xml.bz2"
    stats = make_dump(dump, args.full_pages, sents, args.seed + 7)
    mine = ours(tmp, dump, args, 2, kind="build")
    extract, folder = wikiextractor(tmp, dump, 2)
    theirs = ours(tmp, folder, args, 1, kind="build")
    return [{"section": "full", "dump": stats, "dump_to_kb": mine, "wikiextractor_then_jsonl_build": {
        "wikiextractor": extract, "jsonl_build": theirs, "wall_s": round(extract["wall_s"] + theirs["wall_s"], 2)},
        "speedup_wall": round((extract["wall_s"] + theirs["wall_s"]) / mine["wall_s"], 2)}]


def projection(records: list[dict], args) -> list[dict]:
    """The English dump on 16 cores, from the measured records: the text side of a full build (per-core CPU
    seconds per MB of XML; the main process's own CPU per MB is the serial floor), and the RL-filtered KB
    (scan every page for titles and redirects, convert only the selected articles, embed their passages)."""
    extract = [r for r in records if r["section"] == "extract" and r["path"].startswith("knowrl")]
    one = next(r for r in extract if r["processes"] == 1)
    two = max((r for r in extract if r["processes"] == 2), key=lambda r: r["pages"])
    dumps = [r for r in records if r["section"] == "dump"]
    mb = args.enwiki_xml_gb * 1024
    parallel = mb / one["xml_mb_per_cpu_s"] / 16                        # every CPU second spread over 16 cores
    writer = two["main_cpu_s"] / (two["xml_mb_per_s"] * two["text_wall_s"])   # the main process's CPU per MB
    full = {"section": "project", "what": "full English dump, text side (parse, extract, split, SQLite/FTS5)",
            "cores": 16, "enwiki_xml_gb_assumed": args.enwiki_xml_gb, "enwiki_pages_assumed": args.enwiki_pages,
            "per_core_xml_mb_per_cpu_s": one["xml_mb_per_cpu_s"], "main_process_cpu_s_per_xml_mb": round(writer, 4),
            "projected_h": round(max(parallel, writer * mb) / 3600, 2),
            "bound_by": "workers" if parallel >= writer * mb else "main-process writer (SQLite + FTS5)",
            "note": "embedding the passages is separate (see the rl projection and the full section)"}
    out = [full]
    rl = next((r for r in records if r["section"] == "rl"), None)
    full_build = next((r for r in records if r["section"] == "full"), None)
    if rl and full_build:
        big = dumps[-1]
        scan_mb_per_s = big["xml_bytes"] / 2**20 / rl["timings_s"]["select"]       # 2 processes, contended
        cpu_per_article = one["text_cpu_s"] / next(d for d in dumps if d["pages"] == one["pages"])["articles"]
        passages_per_article = one["counts"]["passages"] / one["counts"]["documents"]
        mine = full_build["dump_to_kb"]
        encode_rate = mine["counts"]["passages"] / mine["timings_s"]["encode"]
        n = args.rl_pages
        out.append({"section": "project", "what": "RL-filtered KB from the full English dump (--titles-from)",
                    "cores": 16, "rl_pages_assumed": n, "scan_xml_mb_per_s_2_processes": round(scan_mb_per_s, 2),
                    "scan_h": round(mb / (scan_mb_per_s / 2 * 16) / 3600, 2),
                    "extract_h": round(n * cpu_per_article / 16 / 3600, 3),
                    "passages_assumed": round(n * passages_per_article),
                    "encode_passages_per_s_cpu": round(encode_rate, 1),
                    "encode_h_cpu": round(n * passages_per_article / encode_rate / 3600, 2),
                    "note": "scan = every page's title/redirect (no wikitext parsing), per-process rate from the "
                            "2-process run on this contended machine; encode on this machine's CPU (2 threads), "
                            "a GPU was not measured"})
    return out


def reproject(path: Path, args) -> int:
    """Recompute the derived ``project`` records of a results file from its measured records (no new runs)."""
    from knowrl.files import write_json_atomic

    data = json.loads(path.read_text())
    measured_records = [r for r in data["records"] if r["section"] != "project"]
    data["records"] = measured_records + projection(measured_records, args)
    write_json_atomic(path, data)
    print(json.dumps([r for r in data["records"] if r["section"] == "project"], indent=1))
    return 0


def _versions() -> dict:
    from importlib.metadata import version

    return {name: version(name) for name in ("mwparserfromhell", "wikiextractor", "tokenizers")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs=2, default=[50_000, 100_000], help="pages in the two dumps")
    parser.add_argument("--full-pages", type=int, default=200, help="pages of the dump built with embedding")
    parser.add_argument("--rl-titles", type=int, nargs=2, default=[200, 50],
                        help="RL titles planted in the larger dump: as articles, as redirects")
    parser.add_argument("--embedder", default=str(REPO / "resources" / "assets" / "embedder" / "model"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--enwiki-xml-gb", type=float, default=ENWIKI_XML_GB)
    parser.add_argument("--enwiki-pages", type=int, default=ENWIKI_PAGES)
    parser.add_argument("--rl-pages", type=int, default=10_171, help="pages of the RL-filtered KB (projection)")
    parser.add_argument("--reproject", help="recompute the projections of this results file, measuring nothing")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "kb_dump.json"))
    parser.add_argument("--step", help=argparse.SUPPRESS)
    for hidden in ("--result", "--input", "--kb", "--titles-from"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--processes", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        run_step(args)
        return 0
    if args.reproject:
        return reproject(Path(args.reproject), args)
    from knowrl.artifact import provenance
    from knowrl.files import write_json_atomic

    started = time.perf_counter()
    records: list[dict] = []
    sents = sentences(30_000, args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-kb-dump-") as tmp_name:
        tmp = Path(tmp_name)
        planted = rl_titles(sum(args.rl_titles), args.seed)
        dumps = []
        for i, size in enumerate(args.sizes):
            dump = tmp / f"enwiki-{size}-pages-articles-multistream.xml.bz2"
            stats = make_dump(dump, size, sents, args.seed + i, planted if i == 1 else (),
                              args.rl_titles[1] if i == 1 else 0)
            records.append({"section": "dump", **stats})
            dumps.append((dump, stats))
        records += bench_extract(args, tmp, *dumps[0], [1, 2])
        records += bench_extract(args, tmp, *dumps[1], [2])
        records += bench_full(args, tmp, sents)
        titles = tmp / "rl.json"
        shutil.copy(RL_DATA, titles)
        rl = ours(tmp, dumps[1][0], args, 2, kind="build", titles=str(titles))
        records.append({"section": "rl", "dump_pages": dumps[1][1]["pages"], "planted_articles": args.rl_titles[0],
                        "planted_redirects": args.rl_titles[1], **rl})
        records += projection(records, args)
    write_json_atomic(args.out, {"benchmark": "kb_dump", "records": records, "wall_s": round(time.perf_counter()
                                                                                        - started, 1),
                                 "provenance": provenance(argv=sys.argv[1:], threads=args.threads, seed=args.seed,
                                                          versions=_versions(), load_avg_end=os.getloadavg())})
    print(json.dumps(records, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
