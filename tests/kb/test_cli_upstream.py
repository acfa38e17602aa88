"""CLI in-process (knowrl.cli.main) and the upstream layout round trip (export -> import -> export)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import pytest

from knowrl.cli import main
from knowrl.kb import KnowledgeBase
from knowrl.kb.sources import UPSTREAM_SEPARATOR

from .conftest import SMALL_DOCS


def _rows(db):
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT title, text FROM documents ORDER BY rowid").fetchall()


def test_cli_build_search_info(small_jsonl, embedder_path, tmp_path, capsys):
    out = tmp_path / "kb"
    assert main(["kb", "build", "--input", str(small_jsonl), "--out", str(out), "--no-progress",
                 "--embedder", str(embedder_path), "--set", "kb.passage_tokens=64"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["input_records"] == summary["kept"] + summary["skipped"] == 6
    assert "index plan: flat" in captured.err and "6 input records = 6 kept + 0 skipped" in captured.err
    assert KnowledgeBase.open(out).manifest["settings"]["passage_tokens"] == 64   # --set reached the build

    assert main(["kb", "search", "--kb", str(out), "--query", "The Moon orbits the Earth.", "--k", "2",
                 "--titles", "Moon;Sun", "--mode", "hybrid"]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(hits) == 2 and hits[0]["title"] == "Moon"
    assert {"title", "text", "passage_id", "score"} <= set(hits[0])

    assert main(["kb", "info", "--kb", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["documents"] == 6


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["kb", "search", "--kb", str(tmp_path / "nope"), "--query", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("knowrl: error:") and "not a complete KB" in err and "\n" not in err
    assert main(["kb", "build", "--input", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o")]) == 2
    assert "input file not found" in capsys.readouterr().err


def test_upstream_round_trip(small_kb, kb_settings, tmp_path, capsys):
    exported = tmp_path / "knowledge_base.db"
    assert main(["kb", "export", "--kb", str(small_kb.path), "--out", str(exported)]) == 0
    rows = _rows(exported)
    assert [t for t, _ in rows] == [d["title"] for d in SMALL_DOCS]
    moon = dict(rows)["Moon"].split(UPSTREAM_SEPARATOR)
    assert moon == [h.text for h in small_kb.passages_for_titles(["Moon"])[0]]

    imported = tmp_path / "imported"
    assert main(["kb", "import", "--db", str(exported), "--out", str(imported), "--no-progress",
                 "--embedder", kb_settings.embedder]) == 0
    capsys.readouterr()
    with KnowledgeBase.open(imported) as kb:
        assert kb.manifest["source"]["kind"] == "upstream_sqlite"
        assert [h.text for h in kb.passages_for_titles(["Moon"])[0]] == moon   # passages taken as they are
        hits = kb.search(["highest mountain"], k=1)[0]
        assert hits[0].title == "Mount Everest"
    again = tmp_path / "again.db"
    assert main(["kb", "export", "--kb", str(imported), "--out", str(again)]) == 0
    assert _rows(again) == rows                                        # identical upstream content


def test_import_keeps_upstream_passages_and_skips_bad_rows(kb_settings, tmp_path):
    from knowrl.kb import import_upstream

    db = tmp_path / "up.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE documents (title TEXT PRIMARY KEY, text TEXT)")
        conn.executemany("INSERT INTO documents VALUES (?, ?)", [
            ("Alpha", f"First passage about alpha.{UPSTREAM_SEPARATOR}Second passage, also alpha."),
            ("Empty", "   "),                       # blank text: skipped
            ("Null", None),                         # missing text: skipped
        ])
        conn.commit()
    manifest = import_upstream(db, tmp_path / "kb", kb_settings, show_progress=False)
    assert manifest["counts"]["skipped_by_reason"] == {"blank": 1, "missing_field": 1}
    assert manifest["counts"]["passages"] == 2


def test_import_rejects_non_upstream_db(kb_settings, tmp_path):
    from knowrl.errors import InputError
    from knowrl.kb import import_upstream

    db = tmp_path / "other.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
    with pytest.raises(InputError, match="not an upstream KnowRL database"):
        import_upstream(db, tmp_path / "kb", kb_settings)
