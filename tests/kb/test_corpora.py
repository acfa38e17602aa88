"""Corpora users already hold, read as they are: wikiextractor output (a file or its folder), the Search-R1 /
FlashRAG wiki-18 JSONL, FActScore's SQLite DB; and --titles-from on a JSONL build."""

from __future__ import annotations

import bz2
import json
import sqlite3
from contextlib import closing
from dataclasses import replace

import pytest

from knowrl.kb import KnowledgeBase, build_kb
from knowrl.kb.readers import detect_format, read_records
from knowrl.kb.sources import JsonlDirSource, UpstreamSource, open_source

WIKIEXTRACTOR = [  # wikiextractor --json: one paragraph per line, headings as "Heading." lines
    {"id": "12", "revid": "1", "url": "https://en.wikipedia.org/wiki?curid=12", "title": "Anarchism",
     "text": "Anarchism is a political philosophy.\nHistory.\nThe first anarchist thinkers wrote in the 19th century."},
    {"id": "25", "revid": "2", "url": "https://en.wikipedia.org/wiki?curid=25", "title": "Autism", "text": ""},
    {"id": "39", "revid": "3", "url": "https://en.wikipedia.org/wiki?curid=39", "title": "Albedo",
     "text": "Albedo is the fraction of sunlight that is reflected."},
]
WIKI18 = [  # Search-R1 / FlashRAG wiki-18: 100-word passages, a page's passages on consecutive lines
    b'{"id": "1", "contents": "\\"Aaron\\"\\nAaron is a prophet in the Abrahamic religions."}',
    b'{"id": "2", "contents": "\\"Aaron\\"\\nHe was the elder brother of Moses."}',
    b'{"id": "3", "contents": "\\"Abba\\"\\nABBA were a Swedish pop group."}',
    b'{"id": "4", "contents": ',                                                   # malformed JSON
    b'{"id": "5", "contents": "\\"Blank\\"\\n   "}',                                # blank passage
    b'{"id": "6", "contents": "\\"Aaron\\"\\nA later, separate Aaron block."}',     # not consecutive: duplicate
    b'{"id": "7", "contents": "\\"Big\\"\\n' + b"x" * 300 + b'"}',                  # too long for max_chars=200
]


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_wikiextractor_file_lines_become_paragraphs(tmp_path):
    path = _write_jsonl(tmp_path / "wiki_00", WIKIEXTRACTOR)
    assert detect_format(path) == "wikiextractor"
    records = list(read_records(path, 1000))
    assert [(r.doc.title if r.doc else r.skip) for r in records] == ["Anarchism", "blank", "Albedo"]
    assert records[0].doc.text == ("Anarchism is a political philosophy.\n\nHistory.\n\n"
                                   "The first anarchist thinkers wrote in the 19th century.")
    assert records[0].doc.metadata == {"id": "12", "revid": "1", "url": "https://en.wikipedia.org/wiki?curid=12"}


def test_wikiextractor_folder_in_order_and_resumable(tmp_path):
    out = tmp_path / "extracted"
    (out / "AA").mkdir(parents=True)
    (out / "AB").mkdir()
    _write_jsonl(out / "AA" / "wiki_00", WIKIEXTRACTOR[:2])
    (out / "AA" / "wiki_01.bz2").write_bytes(bz2.compress((json.dumps(WIKIEXTRACTOR[2]) + "\n").encode()))  # --compress
    _write_jsonl(out / "AB" / "wiki_00", [{**WIKIEXTRACTOR[0], "id": "99", "title": "Zebra"}])
    source = open_source(out, _Settings())
    assert isinstance(source, JsonlDirSource)
    records = list(source.records({}))
    assert [(r.line, r.doc.title if r.doc else r.skip) for r in records] == [
        (1, "Anarchism"), (2, "blank"), (3, "Albedo"), (4, "Zebra")]
    for cut in range(1, 4):                                     # resume after any record, across files
        rest = list(source.records({"offset": records[cut - 1].offset, "line": records[cut - 1].line}))
        assert [(r.line, r.skip) for r in rest] == [(r.line, r.skip) for r in records[cut:]]


class _Settings:
    max_doc_chars = 1000


def test_wiki18_groups_consecutive_passages(tmp_path):
    path = tmp_path / "wiki-18.jsonl"
    path.write_bytes(b"\n".join(WIKI18) + b"\n")
    assert detect_format(path) == "wiki18"
    records = list(read_records(path, 200))
    got = [(r.line, r.doc.title if r.doc else r.skip, r.doc.passages if r.doc else None) for r in records]
    assert got == [(1, "Aaron", ["Aaron is a prophet in the Abrahamic religions.",
                                 "He was the elder brother of Moses."]),
                   (3, "Abba", ["ABBA were a Swedish pop group."]), (4, "malformed_json", None), (5, "blank", None),
                   (6, "Aaron", ["A later, separate Aaron block."]), (7, "too_long", None)]
    rest = list(read_records(path, 200, start_offset=records[0].offset))    # resume after the first page
    assert [r.doc.title if r.doc else r.skip for r in rest] == ["Abba", "malformed_json", "blank", "Aaron", "too_long"]


def test_wiki18_build_keeps_passages_and_counts_duplicates(tmp_path, kb_settings):
    path = tmp_path / "wiki-18.jsonl"
    path.write_bytes(b"\n".join(WIKI18) + b"\n")
    manifest = build_kb(path, tmp_path / "kb", replace(kb_settings, max_doc_chars=200), show_progress=False)
    assert manifest["counts"]["skipped_by_reason"] == {"blank": 1, "duplicate_title": 1, "malformed_json": 1,
                                                       "too_long": 1}
    with KnowledgeBase.open(tmp_path / "kb") as kb:
        hits, _ = kb.passages_for_titles(["Aaron"])
        assert [h.text for h in hits] == ["Aaron is a prophet in the Abrahamic religions.",
                                          "He was the elder brother of Moses."]


def test_factscore_db_markers_removed(tmp_path, kb_settings):
    db = tmp_path / "enwiki-20230401.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE documents (title PRIMARY KEY, text)")
        conn.execute("INSERT INTO documents VALUES (?, ?)", (
            "Ulm", "<s>Ulm is a city in Germany.</s>####SPECIAL####SEPARATOR####<s>It lies on the Danube.</s>"))
        conn.commit()
    assert isinstance(open_source(db, kb_settings), UpstreamSource)     # build --input picks it by content
    build_kb(db, tmp_path / "kb", kb_settings, show_progress=False)
    with KnowledgeBase.open(tmp_path / "kb") as kb:
        assert [h.text for h in kb.passages_for_titles(["Ulm"])[0]] == ["Ulm is a city in Germany.",
                                                                        "It lies on the Danube."]


def test_titles_from_filters_a_jsonl_build(tmp_path, small_jsonl, kb_settings):
    titles = tmp_path / "rl.json"
    titles.write_text(json.dumps([{"question": "q", "answers": "a", "title": "MOON;Paris;Atlantis"},
                                  {"question": "q2", "answers": "b", "title": "Paris"}]))
    manifest = build_kb(small_jsonl, tmp_path / "kb", replace(kb_settings, titles_from=str(titles)),
                        show_progress=False)
    assert manifest["counts"]["documents"] == 2 and manifest["counts"]["skipped_by_reason"] == {"not_selected": 4}
    cov = manifest["coverage"]
    assert (cov["requested"], cov["direct"], cov["case_insensitive"], cov["missing"]) == (3, 1, 1, 1)
    assert (tmp_path / "kb" / "missing_titles.txt").read_text() == "Atlantis\tnot_in_input\n"


@pytest.mark.parametrize("content, message", [
    ("", "names no titles"),                                        # empty file
    ("[1, 2]", "item 0 is neither a title string nor an object"),   # wrong JSON shape
    ("[{", "malformed JSON"),                                       # broken JSON
])
def test_bad_titles_file(tmp_path, small_jsonl, kb_settings, content, message):
    from knowrl.errors import InputError

    titles = tmp_path / "t.json"
    titles.write_text(content)
    with pytest.raises(InputError, match=message):
        build_kb(small_jsonl, tmp_path / "kb", replace(kb_settings, titles_from=str(titles)), show_progress=False)


def test_format_sniffing_reads_a_long_first_line_whole(tmp_path):
    """A first article longer than any read-ahead buffer is still JSON lines (it was once taken for a dict)."""
    path = _write_jsonl(tmp_path / "wiki_00", [{**WIKIEXTRACTOR[0], "text": "Long. " * 30_000}, WIKIEXTRACTOR[2]])
    assert path.stat().st_size > 1 << 17
    assert detect_format(path) == "wikiextractor"
    assert [r.doc.title for r in read_records(path, 1_000_000)] == ["Anarchism", "Albedo"]
