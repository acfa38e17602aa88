"""Building KBs from a Wikipedia dump: title selection through redirects, coverage report, redirect-following
lookups and title-restricted search, link neighbourhood, the RL data's titles, and resume after a kill."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest

from knowrl.kb import KnowledgeBase, build_kb
from knowrl.kb.dumppages import ConvertSettings
from knowrl.kb.dumpsource import CATALOG, DumpSource

from .dumpgen import Page, write_dump
from .wiki_fixtures import EXPECTED_SKIPS, PAGES

WANTED = [
    "Einstein",                 # a redirect
    "A. Einstein",              # a redirect to a redirect
    "albert_Einstein",          # the page, in URL form (normalised)
    "ULM",                      # the page, other case
    "Einstein's theory",        # a redirect without <redirect>, to an anchor
    "Loop one",                 # a redirect loop
    "Atlantis",                 # not in the dump
    "Mercury",                  # a disambiguation page
    "Talk:Albert Einstein",     # not an article
]


@pytest.fixture(scope="module")
def dump_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dump")
    write_dump(root / "enwiki-20231101-pages-articles-multistream.xml.bz2", PAGES, multistream=True, per_stream=4)
    write_dump(root / "enwiki-20231101-pages-articles.xml.bz2", PAGES)
    (root / "wanted.txt").write_text("\n".join(WANTED) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def multistream(dump_dir) -> Path:
    return dump_dir / "enwiki-20231101-pages-articles-multistream.xml.bz2"


@pytest.fixture(scope="module")
def filtered_kb(multistream, dump_dir, kb_settings, tmp_path_factory):
    out = tmp_path_factory.mktemp("filtered") / "kb"
    settings = replace(kb_settings, titles_from=str(dump_dir / "wanted.txt"))
    manifest = build_kb(multistream, out, settings, show_progress=False)
    with KnowledgeBase.open(out) as kb:
        yield kb, manifest


def test_filtered_build_counts_and_coverage(filtered_kb):
    kb, manifest = filtered_kb
    counts = manifest["counts"]
    # only the 3 streams holding a selected page are read: 9 pages
    assert counts["input_records"] == 9 == counts["kept"] + counts["skipped"]
    assert counts["skipped_by_reason"] == {"not_selected": 2, "other_namespace": 2, "redirect": 1}
    assert counts["documents"] == 4 and counts["disambiguation_pages"] == 1
    cov = manifest["coverage"]
    assert (cov["requested"], cov["found"], cov["direct"], cov["case_insensitive"], cov["via_redirect"],
            cov["missing"]) == (9, 6, 2, 1, 3, 3)
    assert cov["missing_by_reason"] == {"not_in_input": 2, "redirect_loop": 1}
    assert cov["found_disambiguation_pages"] == 1
    rows = {r["title"]: (r["found"], r["how"]) for r in json.loads((kb.path / "coverage.json").read_text())["titles"]}
    assert rows["A. Einstein"] == ("Albert Einstein", "redirect")
    assert rows["Einstein's theory"] == ("Theory of relativity", "redirect")
    assert (kb.path / "missing_titles.txt").read_text().splitlines() == [
        "Loop one\tredirect_loop", "Atlantis\tnot_in_input", "Talk:Albert Einstein\tnot_in_input"]
    assert {"coverage.json", "missing_titles.txt"} <= set(manifest["files"])
    assert not (kb.path / CATALOG).exists()                              # the selection catalog is not published
    assert manifest["source_report"]["selected_pages"] == {"requested": 4}
    assert manifest["source_report"]["scan"]["redirects"] == 5


def test_redirects_are_followed_by_lookups_and_search(filtered_kb):
    kb, _ = filtered_kb
    with closing(sqlite3.connect(kb.path / "kb.sqlite")) as conn:        # only redirects that lead to a page
        assert dict(conn.execute("SELECT title, target FROM redirects").fetchall()) == {
            "Einstein": "Albert Einstein", "A. Einstein": "Einstein", "Einstein's theory": "Theory of relativity"}
    before = kb.stats["titles_via_redirect"]
    hits, missing = kb.passages_for_titles(["A. Einstein", "Loop one"])
    assert missing == ["Loop one"]
    assert {h.title for h in hits} == {"Albert Einstein"} and len(hits) == 3   # lead, Early life, Education
    assert kb.stats["titles_via_redirect"] == before + 1
    for mode in ("dense", "bm25", "hybrid"):
        hits = kb.search(["Where was he born?"], k=2, titles=[["Einstein"]], mode=mode)[0]
        assert hits and {h.title for h in hits} == {"Albert Einstein"}, mode
    assert "Ulm" in kb.search(["Where was he born?"], k=1, titles=[["Einstein"]], mode="bm25")[0][0].text


def test_full_build_without_index_records_every_redirect(dump_dir, kb_settings, tmp_path):
    manifest = build_kb(dump_dir / "enwiki-20231101-pages-articles.xml.bz2", tmp_path / "kb", kb_settings,
                        show_progress=False)
    counts = manifest["counts"]
    assert counts["input_records"] == len(PAGES) and counts["skipped_by_reason"] == EXPECTED_SKIPS
    assert (counts["documents"], counts["redirects"], counts["disambiguation_pages"]) == (5, 5, 1)
    with KnowledgeBase.open(tmp_path / "kb") as kb:
        hits, missing = kb.passages_for_titles(["Loop two", "Einstein's theory", "Broken page"])
        assert missing == ["Loop two"]                                  # the loop is detected at lookup time
        assert [h.title for h in hits] == ["Theory of relativity"] * 2 + ["Broken page"]
        meta = json.loads(kb._conn.execute("SELECT metadata FROM documents WHERE title = 'Theory of relativity'")
                          .fetchone()[0])
        assert meta["lead_passages"] == 1 and meta["sections"] == [[None, 1], ["General relativity", 1]]


@pytest.mark.parametrize("name", ["enwiki-20231101-pages-articles-multistream.xml.bz2",
                                  "enwiki-20231101-pages-articles.xml.bz2"])
def test_link_neighbourhood_adds_linked_pages(dump_dir, embedder_path, tmp_path, name):
    """Selection only (no embedding): with and without the index, the linked pages that exist are added."""
    convert = ConvertSettings(str(embedder_path), 256, 100_000)

    def selected(neighbourhood: bool) -> set[str]:
        work = tmp_path / f"{neighbourhood}"
        work.mkdir()
        source = DumpSource(dump_dir / name, convert, titles=["Einstein"], neighbourhood=neighbourhood)
        source.prepare(work, bar=_no_bar)
        return {r.doc.title for r in source.records({}) if r.doc}

    assert selected(False) == {"Albert Einstein"}
    assert selected(True) == {"Albert Einstein", "Ulm", "Theory of relativity"}   # [[theory of relativity]] too


class _no_bar:
    def __init__(self, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def update(self, n):
        pass


def test_rl_data_titles_through_the_cli(rl_data, tmp_path, embedder_path, capsys):
    """The paper's case: the RL data's titles, some of them redirects, from a dump, with --processes 2."""
    from knowrl.cli import main

    pages = [Page("Netflix, Inc.", "'''Netflix''' is an American streaming service."),
             Page("Netflix", "#REDIRECT [[Netflix, Inc.]]", redirect="Netflix, Inc."),
             Page("Justice League", "The '''Justice League''' is a team of superheroes."),
             Page("Justice League (film)", "#REDIRECT [[Justice League (2017 film)]]",
                  redirect="Justice League (2017 film)"),
             Page("Justice League (2017 film)", "'''Justice League''' is a 2017 superhero film."),
             Page("Drew Carey", "'''Drew Carey''' is an American comedian and game show host."),
             Page("Clive Anderson", "'''Clive Anderson''' is a British television presenter."),
             Page("Donald Clive Anderson", "#REDIRECT [[Clive Anderson]]", redirect="Clive Anderson"),
             Page("Unrelated page", "Nobody asks about this page.")]
    dump = tmp_path / "enwiki-pages-articles-multistream.xml.bz2"
    write_dump(dump, pages, multistream=True, per_stream=2)
    out = tmp_path / "kb"
    code = main(["-q", "kb", "build", "--input", str(dump), "--titles-from", str(rl_data), "--out", str(out),
                 "--embedder", str(embedder_path), "--processes", "2", "--no-progress"])
    assert code == 0
    cov = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["coverage"]
    requested = len({t.strip() for r in json.loads(rl_data.read_text()) for t in r["title"].split(";") if t.strip()})
    assert cov["requested"] == requested
    # found: Netflix, Inc. / Justice League / Drew Carey directly; Netflix, Justice League (film) and
    # Donald Clive Anderson through their redirects
    assert (cov["found"], cov["direct"], cov["via_redirect"]) == (6, 3, 3)
    with KnowledgeBase.open(out) as kb:
        assert kb.manifest["counts"]["documents"] == 5                # "Unrelated page" is not selected
        hits, missing = kb.passages_for_titles(["Netflix", "Donald Clive Anderson", "Justice League (film)"])
        assert missing == [] and [h.title for h in hits] == ["Netflix, Inc.", "Clive Anderson",
                                                             "Justice League (2017 film)"]
    missing_titles = (out / "missing_titles.txt").read_text().splitlines()
    assert len(missing_titles) == requested - 6 and "Netflix\t" not in "\n".join(missing_titles)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_killed_filtered_build_resumes_to_the_same_kb(multistream, dump_dir, embedder_path, kb_settings, tmp_path):
    out = tmp_path / "kb"
    cmd = [sys.executable, "-m", "knowrl", "-q", "kb", "build", "--input", str(multistream), "--out", str(out),
           "--titles-from", str(dump_dir / "wanted.txt"), "--embedder", str(embedder_path), "--processes", "2",
           "--no-progress"]

    def run(kill_at):
        env = {**os.environ, "KNOWRL_KB_INGEST_CHUNK": "2", "KNOWRL_KB_KILL_AT": kill_at}
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)  # waits for the workers too

    first = run("select:1")                              # killed once the catalog selection is committed
    assert first.returncode == -signal.SIGKILL, first.stderr
    assert (tmp_path / "kb.partial" / CATALOG).is_file() and not out.exists()
    second = run("ingest:2")                             # resumes without re-scanning; killed after 4 pages stored
    assert second.returncode == -signal.SIGKILL, second.stderr
    with closing(sqlite3.connect(tmp_path / "kb.partial" / "kb.sqlite")) as conn:
        state = json.loads(conn.execute("SELECT value FROM state WHERE key = 'ingest'").fetchone()[0])
    assert state["seen"] == 4 and not state["done"]
    third = run("")
    assert third.returncode == 0, third.stderr
    settings = replace(kb_settings, titles_from=str(dump_dir / "wanted.txt"))
    build_kb(multistream, tmp_path / "fresh", settings, show_progress=False)
    with KnowledgeBase.open(out) as resumed, KnowledgeBase.open(tmp_path / "fresh") as fresh:
        for key in ("counts", "coverage"):
            assert resumed.manifest[key] == fresh.manifest[key], key
        assert [h.text for h in resumed.passages_for_titles(WANTED)[0]] == \
               [h.text for h in fresh.passages_for_titles(WANTED)[0]]
    assert (out / "coverage.json").read_bytes() == (tmp_path / "fresh" / "coverage.json").read_bytes()
