"""Input readers: JSONL, JSON array and the demo dict, streamed; each bad-record kind gets its reason."""

from __future__ import annotations

import json

import pytest

from knowrl.errors import InputError
from knowrl.kb.readers import detect_format, read_records


def _reasons(path, max_chars=1000):
    return [(r.line, r.doc.title if r.doc else None, r.skip) for r in read_records(path, max_chars)]


def test_jsonl_bad_records_are_skipped_with_reasons(tmp_path):
    path = tmp_path / "bad.jsonl"
    lines = [
        json.dumps({"title": "Good", "text": "Fine text.", "topic": "x"}).encode(),  # kept, topic = metadata
        b'{"title": "Broken", "text": ',                                         # malformed JSON
        json.dumps({"title": "No text"}).encode(),                                 # missing field
        json.dumps({"text": "no title"}).encode(),                                 # missing field
        json.dumps({"title": "Blank", "text": "  \n "}).encode(),                  # blank text
        '{"title": "Bad bytes", "text": "caf\u00e9"}'.encode("latin-1"),            # invalid UTF-8
        json.dumps({"title": "Huge", "text": "x" * 2000}).encode(),                 # absurdly long
        json.dumps(["not", "an", "object"]).encode(),                              # not an object
        json.dumps({"title": "List", "text": ["Part one.", " ", "Part two."]}).encode(),  # list text joined
    ]
    path.write_bytes(b"\n".join(lines) + b"\n\n")
    got = _reasons(path)
    assert got == [(1, "Good", None), (2, None, "malformed_json"), (3, None, "missing_field"),
                   (4, None, "missing_field"), (5, None, "blank"), (6, None, "invalid_utf8"),
                   (7, None, "too_long"), (8, None, "not_an_object"), (9, "List", None)]
    records = list(read_records(path, 1000))
    assert records[0].doc.metadata == {"topic": "x"}
    assert records[-1].doc.text == "Part one.\n\nPart two."


def test_json_array_streams_across_chunks(tmp_path, monkeypatch):
    import knowrl.kb.readers as readers

    monkeypatch.setattr(readers, "CHUNK_CHARS", 7)               # force records to straddle chunk borders
    rows = [{"title": f"T{i}", "text": f"Text {i} é.", "n": i} for i in range(20)] + [{"title": "", "text": "x"}]
    path = tmp_path / "arr.json"
    path.write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")
    assert detect_format(path) == "array"
    got = list(read_records(path, 1000))
    assert [r.doc.title for r in got[:20]] == [f"T{i}" for i in range(20)]
    assert got[20].skip == "blank"
    assert got[5].doc.metadata == {"n": 5}
    assert got[1].line == 7                                       # each record's starting line is tracked


def test_demo_dict_format_uses_extract(tmp_path):
    data = {"Moon": {"title": "Moon", "extract": "The Moon.", "description": "satellite"},
            "Sun": {"extract": "The Sun."}}                          # title from the key when absent
    path = tmp_path / "demo.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert detect_format(path) == "dict"
    docs = [r.doc for r in read_records(path, 1000)]
    assert [(d.title, d.text) for d in docs] == [("Moon", "The Moon."), ("Sun", "The Sun.")]
    assert docs[0].metadata == {"description": "satellite"}


def test_invalid_utf8_inside_json_array(tmp_path):
    path = tmp_path / "arr.json"
    path.write_bytes(b'[{"title": "A", "text": "ok"}, {"title": "B", "text": "caf\xe9"}]')
    assert [r.skip for r in read_records(path, 1000)] == [None, "invalid_utf8"]


def test_broken_json_array_is_an_input_error_with_line(tmp_path):
    path = tmp_path / "arr.json"
    path.write_text('[\n{"title": "A", "text": "ok"},\n{"title": "B" "text": "x"}\n]', encoding="utf-8")
    with pytest.raises(InputError, match=r":3: malformed JSON"):
        list(read_records(path, 1000))


def test_jsonl_resume_from_offset(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps({"title": f"T{i}", "text": "x."}) + "\n" for i in range(5)))
    first = list(read_records(path, 100))
    rest = list(read_records(path, 100, start_offset=first[1].offset))
    assert [r.doc.title for r in rest] == ["T2", "T3", "T4"]
