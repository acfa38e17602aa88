"""Reading the MediaWiki export format: plain, bz2, multistream + index, truncated, malformed; records of a dump
source in every layout and with 1 or 2 worker processes are the same."""

from __future__ import annotations

import bz2
from collections import Counter
from pathlib import Path

import pytest

from knowrl.errors import InputError
from knowrl.kb.dumppages import ConvertSettings
from knowrl.kb.dumpsource import DumpSource
from knowrl.kb.sources import open_source
from knowrl.kb.wikidump import find_index, is_dump, iter_file_pages, read_index, read_stream

from .dumpgen import Page, write_dump
from .wiki_fixtures import EXPECTED_SKIPS, EXPECTED_TEXT, PAGES, REDIRECTS

PER_STREAM = 4                                  # 13 pages -> 4 streams, the last one holding a single page


@pytest.fixture(scope="module")
def dumps(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("dumps")
    out = {"xml": root / "enwiki-pages-articles.xml", "bz2": root / "enwiki-pages-articles.xml.bz2",
           "multistream": root / "enwiki-pages-articles-multistream.xml.bz2"}
    write_dump(out["xml"], PAGES)
    write_dump(out["bz2"], PAGES)
    write_dump(out["multistream"], PAGES, multistream=True, per_stream=PER_STREAM)
    cut = root / "cut"
    cut.mkdir()
    out["cut_multistream"] = cut / "enwiki-pages-articles-multistream.xml.bz2"
    write_dump(out["cut_multistream"], PAGES + [Page("Extra", "Extra text.")], multistream=True,
               per_stream=PER_STREAM, truncate_last=True)
    for name in ("cut.xml", "cut.xml.bz2"):
        out[name] = root / name
        write_dump(out[name], PAGES, truncate_last=True)
    return out


@pytest.fixture(scope="module")
def convert(embedder_path) -> ConvertSettings:
    return ConvertSettings(str(embedder_path), 256, 100_000)


def test_every_layout_reads_the_same_pages(dumps):
    want = [(p.title, p.ns, p.redirect) for p in PAGES]
    for name in ("xml", "bz2", "multistream"):
        got = [(p.title, p.ns, p.redirect) for p in iter_file_pages(dumps[name])]
        assert got == want, name                                 # multistream read as one file works too
    streams = read_index(find_index(dumps["multistream"]), dumps["multistream"])
    assert [s.pages for s in streams] == [4, 4, 4, 1]
    got = [(p.title, p.ns, p.redirect) for s in streams for p in read_stream(dumps["multistream"], s)]
    assert got == want
    assert read_stream(dumps["multistream"], streams[0])[0].text == PAGES[0].text   # text survives XML escaping


def test_sniffing_and_index_discovery(dumps, tmp_path):
    assert all(is_dump(dumps[k]) for k in ("xml", "bz2", "multistream"))
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text('{"title": "A", "text": "b"}\n')
    assert not is_dump(jsonl)
    assert find_index(dumps["bz2"]) is None                      # not a multistream name
    assert find_index(dumps["multistream"]).name == "enwiki-pages-articles-multistream-index.txt.bz2"


def test_truncated_files_report_what_they_lost(dumps):
    pages = list(iter_file_pages(dumps["cut.xml"]))             # XML cut at 3/4: the whole pages, then the cut one
    assert [p.problem for p in pages] == [None] * (len(pages) - 1) + ["truncated"]
    assert [p.title for p in pages[:-1]] == [p.title for p in PAGES[:len(pages) - 1]] and 5 < len(pages) < len(PAGES)
    pages = list(iter_file_pages(dumps["cut.xml.bz2"]))         # a cut bz2 block yields nothing, and says so
    assert [p.problem for p in pages] == ["truncated"]
    streams = read_index(find_index(dumps["cut_multistream"]), dumps["cut_multistream"])
    last = read_stream(dumps["cut_multistream"], streams[-1])  # the last stream is cut in half: the index says 2
    assert [p.problem for p in last] == ["truncated", "truncated"] and streams[-1].pages == 2


def _records(source, state=None):
    return list(source.records(state or {}))


def _summary(records):
    skips = Counter(r.skip for r in records if r.skip)
    docs = {r.doc.title: r.doc for r in records if r.doc}
    redirects = dict(r.redirect for r in records if r.redirect)
    return skips, docs, redirects


@pytest.mark.parametrize("layout, processes", [("xml", 1), ("bz2", 1), ("multistream", 1), ("multistream", 2),
                                               ("bz2", 2)])
def test_dump_source_records(dumps, convert, layout, processes):
    records = _records(DumpSource(dumps[layout], convert, processes=processes))
    skips, docs, redirects = _summary(records)
    assert len(records) == len(PAGES)                           # input = kept + skipped, one record per page
    assert dict(skips) == EXPECTED_SKIPS
    assert redirects == REDIRECTS                               # normalised, anchors stripped
    assert sorted(docs) == sorted(EXPECTED_TEXT)
    einstein = docs["Albert Einstein"]
    assert einstein.metadata["sections"] == [[None, 1], ["Early life", 1], ["Education", 1]]
    assert einstein.metadata["lead_passages"] == 1 and einstein.metadata["page_id"] == 1
    assert einstein.passages[0].startswith("Albert Einstein (14 March 1879")
    assert docs["Mercury"].metadata.get("disambiguation") is True
    assert "disambiguation" not in einstein.metadata
    assert [r.line for r in records] == list(range(1, len(PAGES) + 1))


def test_records_resume_from_any_offset(dumps, convert):
    for layout in ("bz2", "multistream"):
        source = DumpSource(dumps[layout], convert)
        full = _records(source)
        for cut in (1, 5, 8, 12):
            rest = _records(source, {"offset": full[cut - 1].offset, "line": full[cut - 1].line})
            assert [(r.line, r.skip, r.doc and r.doc.title) for r in rest] == \
                   [(r.line, r.skip, r.doc and r.doc.title) for r in full[cut:]], (layout, cut)


def test_truncated_dump_counts_lost_pages(dumps, convert):
    records = _records(DumpSource(dumps["cut_multistream"], convert))
    assert len(records) == len(PAGES) + 1                       # every page the index lists is a record
    skips, docs, _ = _summary(records)
    assert skips["truncated"] == 2                              # the last stream held "Ulm" and "Extra"
    assert sorted(docs) == sorted(set(EXPECTED_TEXT) - {"Ulm"})


def test_malformed_xml(tmp_path, convert):
    path = tmp_path / "bad.xml"
    path.write_text("<mediawiki><page><title>A</title><ns>0</ns><revision><text>x</text></revision></page>"
                    "<page><title>B</oops></page></mediawiki>")
    with pytest.raises(InputError, match=r"bad.xml: malformed XML \(mismatched tag"):
        _records(DumpSource(path, convert))
    # with an index, only the broken stream's pages are lost, and counted
    good, bad = bz2.compress(b"<page><title>A</title><ns>0</ns><revision><text>Fine text.</text></revision>"
                             b"</page>"), bz2.compress(b"<page><title>B</oops></page>")
    ms = tmp_path / "x-multistream.xml.bz2"
    ms.write_bytes(good + bad)
    (tmp_path / "x-multistream-index.txt").write_text(f"0:1:A\n{len(good)}:2:B\n")
    records = _records(DumpSource(ms, convert))
    assert [(r.doc.title if r.doc else r.skip) for r in records] == ["A", "invalid_xml"]


def test_index_errors(tmp_path, dumps, convert):
    index = tmp_path / "i.txt"
    index.write_text("10:1:A\n5:2:B\n")
    with pytest.raises(InputError, match="offsets go backwards"):
        read_index(index, dumps["multistream"])
    index.write_text("x:1:A\n")
    with pytest.raises(InputError, match="line 1 is not 'offset:page_id:title'"):
        read_index(index, dumps["multistream"])
    with pytest.raises(InputError, match="index not found"):
        DumpSource(dumps["bz2"], convert, index=tmp_path / "none.txt")


def test_open_source_picks_the_dump_reader(dumps, kb_settings):
    assert isinstance(open_source(dumps["bz2"], kb_settings), DumpSource)
    assert open_source(dumps["multistream"], kb_settings).index is not None
