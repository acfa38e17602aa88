"""Benchmark: the knowledge base (``knowrl.kb``) against the upstream way and a pure-Python BM25, plus index scale.

(The issue names this ``benchmarks/kb.py``; it follows the house ``bench_<thing>.py`` naming.)

Sections, each emitting JSON records (one per operating point; all written to ``--out``):
  build    build throughput (passages/s, per phase) and peak RSS of a build subprocess on a vital slice
  query    latency p50/p95 and QPS for dense / bm25 / hybrid, single query per call and batched, on the vital KB;
           baseline: a full-scan BM25 in pure Python (rank_bm25's BM25Okapi formula), measured in the same run
  knowrl   a KnowRL-shaped cold-start workload (Q questions about vital pages x 10 fact queries, title-restricted,
           k=5) vs the upstream way: fetch the page's passages from the upstream SQLite layout, encode them on first
           use into a per-title in-memory cache, encode each fact query on its own, brute-force inner product
  scale    N synthetic vectors (vital embeddings as mixture centres + Gaussian noise, normalised): Flat vs HNSW vs
           IVF-SQ8 vs IVF-PQ (exact re-ranking of the top candidates from float16 vectors): index memory, build
           time, QPS, recall@10 against Flat
Seeded; torch and FAISS pinned to ``--threads``; warm-up before timing; repeats where noted.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from knowrl.artifact.provenance import git_commit, hardware, package_versions
from knowrl.files import write_json_atomic
from knowrl.kb import KnowledgeBase, export_upstream, split_sentences
from knowrl.kb.sources import UPSTREAM_SEPARATOR

REPO = Path(__file__).resolve().parents[1]
VITAL = REPO.parent / "shared" / "data" / "wiki_vital4_en" / "articles.jsonl"


def pct(values, q):
    return round(float(np.percentile(np.asarray(values) * 1000, q)), 3)


def timing_record(name, latencies_s, n_queries, wall_s, **extra):
    return {"section": "query", "op": name, "queries": n_queries, "p50_ms": pct(latencies_s, 50),
            "p95_ms": pct(latencies_s, 95), "qps": round(n_queries / wall_s, 1), **extra}


# -- build ------------------------------------------------------------------------------------------------
def bench_build(args, tmp: Path) -> list[dict]:
    src = tmp / "slice.jsonl"
    with open(args.vital, encoding="utf-8") as fh:
        lines = [line for _, line in zip(range(args.build_docs), fh)]
    src.write_text("".join(lines), encoding="utf-8")
    code = ("import sys, json, resource, torch, faiss; torch.set_num_threads(%d); faiss.omp_set_num_threads(%d);"
            "from knowrl.kb import build_kb, KBSettings; m = build_kb(sys.argv[1], sys.argv[2], "
            "KBSettings(embedder=sys.argv[3]), show_progress=False); "
            "print(json.dumps({'counts': m['counts'], 'timings_s': m['timings_s'], "
            "'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))") % (args.threads,
                                                                                              args.threads)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, str(src), str(tmp / "kb"), str(args.embedder)],
                          capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    t, c = out["timings_s"], out["counts"]
    return [{"section": "build", "docs": c["documents"], "passages": c["passages"], "wall_s": round(wall, 1),
             "phases_s": t, "passages_per_s": round(c["passages"] / (t["ingest"] + t["encode"] + t["index"]), 2),
             "encode_passages_per_s": round(c["passages"] / t["encode"], 2),
             "peak_rss_mb": round(out["peak_rss_mb"], 1)}]


# -- query ----------------------------------------------------------------------------------------------
def description_queries(path: Path, n: int, seed: int) -> list[str]:
    rows = [json.loads(line) for line in open(path, encoding="utf-8")]
    rows = [r for r in rows if (r.get("description") or "").strip()]
    return [r["description"] for r in random.Random(seed).sample(rows, n)]


def bench_queries(kb: KnowledgeBase, queries: list[str], repeats: int, batch: int) -> list[dict]:
    records = []
    for mode in ("dense", "bm25", "hybrid"):
        kb.search(queries[:10], k=5, mode=mode)                       # warm-up
        lat, start = [], time.perf_counter()
        for _ in range(repeats):
            for q in queries:
                t0 = time.perf_counter()
                kb.search([q], k=5, mode=mode)
                lat.append(time.perf_counter() - t0)
        records.append(timing_record(f"{mode}_single", lat, len(lat), time.perf_counter() - start))
        lat, start = [], time.perf_counter()
        for _ in range(repeats):
            for i in range(0, len(queries), batch):
                t0 = time.perf_counter()
                kb.search(queries[i:i + batch], k=5, mode=mode)
                lat.append((time.perf_counter() - t0))
        records.append(timing_record(f"{mode}_batched", lat, repeats * len(queries), time.perf_counter() - start,
                                     batch=batch, latency_is="per batch"))
    return records


class PurePythonBM25:
    """Full-scan Okapi BM25 as rank_bm25.BM25Okapi computes it (k1=1.5, b=0.75, epsilon-floored idf)."""

    def __init__(self, docs: list[list[str]], k1=1.5, b=0.75, epsilon=0.25):
        self.k1, self.b = k1, b
        self.freqs = [Counter(d) for d in docs]
        self.lens = np.array([len(d) for d in docs], dtype=np.float64)
        self.avgdl = float(self.lens.mean())
        df = Counter(w for f in self.freqs for w in f)
        n = len(docs)
        idf = {w: math.log(n - c + 0.5) - math.log(c + 0.5) for w, c in df.items()}
        floor = epsilon * (sum(idf.values()) / len(idf))
        self.idf = {w: (v if v >= 0 else floor) for w, v in idf.items()}

    def scores(self, query: list[str]) -> np.ndarray:
        out = np.zeros(len(self.freqs))
        norm = self.k1 * (1 - self.b + self.b * self.lens / self.avgdl)
        for q in query:
            tf = np.array([f.get(q, 0) for f in self.freqs], dtype=np.float64)
            out += self.idf.get(q, 0.0) * tf * (self.k1 + 1) / (tf + norm)
        return out


def bench_python_bm25(kb: KnowledgeBase, queries: list[str]) -> list[dict]:
    rows = kb._conn.execute("SELECT d.title, p.text FROM passages p JOIN documents d USING(doc_id) "
                            "ORDER BY p.passage_id").fetchall()
    t0 = time.perf_counter()
    bm25 = PurePythonBM25([f"{t} {x}".lower().split() for t, x in rows])
    index_s = time.perf_counter() - t0
    lat, start = [], time.perf_counter()
    for q in queries:
        t0 = time.perf_counter()
        np.argsort(-bm25.scores(q.lower().split()))[:5]
        lat.append(time.perf_counter() - t0)
    return [timing_record("bm25_pure_python_single", lat, len(queries), time.perf_counter() - start,
                          baseline=True, index_build_s=round(index_s, 2))]


# -- KnowRL-shaped workload -----------------------------------------------------------------------------
def knowrl_workload(path: Path, n_questions: int, seed: int, titles: list[str] | None = None):
    """(title, 10 distinct fact queries "<title> <sentence>"): the page's own sentences first, then sentences of
    other pages (reasoning also states facts the page does not hold); seeded."""
    rng = random.Random(seed)
    rows = [json.loads(line) for line in open(path, encoding="utf-8")]
    pool = [s for r in rng.sample(rows, min(2000, len(rows))) for s in split_sentences(r["text"])]
    chosen = titles if titles is not None else [r["title"] for r in rng.sample(rows, n_questions)]
    text = {r["title"]: r["text"] for r in rows}
    work = []
    for title in chosen:
        own = split_sentences(text.get(title, ""))[:10]
        facts = list(dict.fromkeys(own + rng.sample(pool, 20)))[:10]
        work.append((title, [f"{title} {fact}" for fact in facts]))
    return work


def upstream_way(db_path: Path, embedder, work) -> None:
    """Cold start: SQLite fetch per page, encode its passages on first use (per-title cache), one query at a time."""
    conn = sqlite3.connect(db_path)
    cache: dict[str, np.ndarray] = {}
    for title, facts in work:
        passages = conn.execute("SELECT text FROM documents WHERE title = ?", (title,)).fetchone()[0]
        passages = passages.split(UPSTREAM_SEPARATOR)
        if title not in cache:
            cache[title] = embedder.encode([f"{title}\n{p}" for p in passages])
        for fact in facts:
            q = embedder.encode([fact])[0]
            scores = cache[title] @ q
            [passages[i] for i in np.argsort(-scores)[:5]]
    conn.close()


def ours(kb: KnowledgeBase, work, mode: str, group: int) -> None:
    for i in range(0, len(work), group):                 # group 8: one optimizer step's prompts per call
        chunk = work[i:i + group]
        kb.search([f for _, facts in chunk for f in facts], k=5, titles=[[t] for t, facts in chunk for _ in facts],
                  mode=mode)


def timed(fn, *args) -> tuple[float, float]:
    """(wall s, CPU s of this process): CPU time is the robust figure on a shared, contended machine."""
    w, c = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - w, time.process_time() - c


def bench_knowrl(kb: KnowledgeBase, tmp: Path, work, variant: str) -> list[dict]:
    db = tmp / f"knowledge_base_{variant}.db"
    export_upstream(kb.path, db)
    kb.search(["warm-up"], k=5, titles=[[work[0][0]]], mode="dense")
    base = {"section": "knowrl", "variant": variant, "questions": len(work), "queries": 10 * len(work),
            "passages_per_page": round(np.mean([len(kb.passages_for_titles([t])[0]) for t, _ in work]), 1)}
    up_wall, up_cpu = timed(upstream_way, db, kb._embedder, work)
    records = [{**base, "arm": "upstream", "wall_s": round(up_wall, 2), "cpu_s": round(up_cpu, 2)}]
    for arm, mode, group in (("dense_per_question", "dense", 1), ("hybrid_per_question", "hybrid", 1),
                             ("dense_per_step", "dense", 8), ("hybrid_per_step", "hybrid", 8)):
        wall, cpu = timed(ours, kb, work, mode, group)
        records.append({**base, "arm": f"knowrl_{arm}", "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                        "speedup_wall": round(up_wall / wall, 2), "speedup_cpu": round(up_cpu / cpu, 2)})
    return records


def long_page_kb(kb: KnowledgeBase, tmp: Path, per_page: int) -> KnowledgeBase:
    """A copy of the KB whose passages are regrouped into pseudo-pages of ``per_page`` consecutive passages:
    real Wikipedia pages have tens of passages (vital leads have one), which is what upstream re-encodes."""
    import shutil

    from knowrl.files import sha256_file

    out = tmp / "long_pages"
    shutil.copytree(kb.path, out)
    with sqlite3.connect(out / "kb.sqlite") as conn:
        n = conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        conn.execute("DELETE FROM documents")
        conn.executemany("INSERT INTO documents(doc_id, title, title_lower, first_passage, n_passages, metadata) "
                         "VALUES (?, ?, ?, ?, ?, '{}')",
                         [(i + 1, f"Page {i}", f"page {i}", i * per_page, min(per_page, n - i * per_page))
                          for i in range((n + per_page - 1) // per_page)])
        conn.execute("UPDATE passages SET doc_id = passage_id / ? + 1", (per_page,))
    conn.close()
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"]["kb.sqlite"] = {"bytes": (out / "kb.sqlite").stat().st_size,
                                      "sha256": sha256_file(out / "kb.sqlite")}
    write_json_atomic(out / "manifest.json", manifest)
    return KnowledgeBase.open(out)


# -- scale ----------------------------------------------------------------------------------------------
def synthetic(centres: np.ndarray, n: int, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, centres.shape[1]), np.float32)
    for s in range(0, n, 100_000):
        m = min(100_000, n - s)
        x = centres[rng.integers(0, len(centres), m)] + rng.normal(0, noise / math.sqrt(centres.shape[1]),
                                                                   (m, centres.shape[1]))
        out[s:s + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def bench_scale(kb: KnowledgeBase, n: int, n_queries: int, seed: int, noise: float) -> list[dict]:
    import faiss

    from knowrl.kb.index import build_index, plan_index, search_index
    from knowrl.kb.settings import IndexSettings

    centres = np.asarray(kb.vectors, np.float32)
    data = synthetic(centres, n, noise, seed)
    queries = synthetic(centres, n_queries, noise, seed + 1)
    f16 = data.astype(np.float16)
    settings = [("flat", {}), ("hnsw", {"hnsw_m": 16, "hnsw_ef_search": 128}),
                ("ivfsq8", {"nprobe": 32}), ("ivfpq", {"nprobe": 32, "pq_m": 96, "rerank": 100}),
                ("ivfpq", {"nprobe": 32, "pq_m": 48, "rerank": 0}),
                ("ivfpq", {"nprobe": 32, "pq_m": 48, "rerank": 100}),
                ("ivfpq", {"nprobe": 32, "pq_m": 24, "rerank": 200})]
    records, truth, flat_bytes = [], None, None
    for kind, extra in settings:
        s = IndexSettings(type=kind, train_sample=min(n, 100_000), rerank=extra.pop("rerank", 100), **extra)
        t0 = time.perf_counter()
        index = build_index(data, plan_index(n, data.shape[1], s), s, seed=seed)
        build_s = time.perf_counter() - t0
        size = len(faiss.serialize_index(index))
        search_index(index, f16, queries[:10], 10, s.rerank)            # warm-up
        t0 = time.perf_counter()
        _, ids = search_index(index, f16 if kind != "flat" else None, queries, 10, s.rerank)
        qps = n_queries / (time.perf_counter() - t0)
        if truth is None:
            truth, flat_bytes = ids, size
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, ids)]))
        records.append({"section": "scale", "index": kind, "n": n, "noise": noise,
                        "params": {**extra, "rerank": s.rerank},
                        "index_mb": round(size / 2**20, 1), "memory_vs_flat": round(flat_bytes / size, 2),
                        "build_s": round(build_s, 1), "qps": round(qps, 1), "recall_at_10": round(recall, 4)})
        print(json.dumps(records[-1]), file=sys.stderr, flush=True)
        del index
    return records


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kb", type=Path, required=True, help="a built vital KB (e.g. the test cache's)")
    parser.add_argument("--vital", type=Path, default=VITAL)
    parser.add_argument("--embedder", type=Path, default=REPO / "resources/assets/embedder/model")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch + FAISS threads (1: on a shared 2-core box 2 threads oversubscribe and "
                             "query encoding gets ~15x slower)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--build-docs", type=int, help="vital articles for the build section (default 2000)")
    parser.add_argument("--scale-n", type=int, help="synthetic vectors (default 1,000,000)")
    parser.add_argument("--sections", default="build,query,knowrl,scale")
    parser.add_argument("--noise", type=float, default=1.0, help="scale: noise norm relative to the centre's")
    parser.add_argument("--page-passages", type=int, default=20, help="passages per pseudo-page (knowrl)")
    parser.add_argument("--merge", action="store_true", help="keep --out's records of sections not re-run")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/kb.json")
    args = parser.parse_args(argv)
    args.build_docs = args.build_docs or (200 if args.quick else 2000)
    args.scale_n = args.scale_n or (50_000 if args.quick else 1_000_000)
    n_queries, questions, repeats = (50, 20, 1) if args.quick else (200, 200, 2)

    import faiss
    import torch

    torch.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    sections = args.sections.split(",")
    records: list[dict] = []
    kb = KnowledgeBase.open(args.kb)
    queries = description_queries(args.vital, n_queries, args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-kb-") as tmp:
        if "build" in sections:
            records += bench_build(args, Path(tmp))
        if "query" in sections:
            records += bench_queries(kb, queries, repeats, batch=32) + bench_python_bm25(kb, queries)
        if "knowrl" in sections:
            records += bench_knowrl(kb, Path(tmp), knowrl_workload(args.vital, questions, args.seed), "vital_leads")
            long_kb = long_page_kb(kb, Path(tmp), args.page_passages)
            titles = random.Random(args.seed).sample([f"Page {i}" for i in range(len(long_kb) // args.page_passages)],
                                                     max(10, questions // 4))
            records += bench_knowrl(long_kb, Path(tmp), knowrl_workload(args.vital, 0, args.seed, titles),
                                    f"long_pages_{args.page_passages}")
        if "scale" in sections:
            records += bench_scale(kb, args.scale_n, 200, args.seed, args.noise)
    result = {"benchmark": "kb", "quick": args.quick, "threads": args.threads, "seed": args.seed,
              "kb": {"passages": len(kb), "index": kb.manifest["index"]["type"],
                     "manifest_sha256": kb.manifest_sha256},
              "hardware": hardware(), "load_avg_at_end": list(__import__("os").getloadavg()),
              "packages": package_versions(), "git": git_commit(), "records": records}
    for record in records:
        print(json.dumps(record))
    if args.merge and args.out.exists():
        kept = [r for r in json.loads(args.out.read_text())["records"] if r["section"] not in sections]
        result["records"] = kept + records
        result["merged_sections_from_earlier_run"] = sorted({r["section"] for r in kept})
    write_json_atomic(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
