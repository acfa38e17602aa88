"""Building: counts (input = kept + skipped), --strict, manifest, atomic publish, refusal of half-built KBs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from knowrl.errors import InputError, KnowRLError
from knowrl.kb import KnowledgeBase, build_kb

from .conftest import SMALL_DOCS, write_jsonl

BAD_LINES = [
    b'{"title": "Broken", "text": \n',                                # malformed JSON
    b'{"title": "No text"}\n',                                         # missing field
    b'{"title": "Blank", "text": "   "}\n',                            # blank text
    b'{"title": "Latin-1", "text": "caf\xe9"}\n',                      # invalid UTF-8
    b'{"title": "Moon", "text": "A second Moon page loses."}\n',       # duplicate title: first wins
    b'{"title": "Huge", "text": "' + b"y" * 5000 + b'"}\n',            # absurdly long
]


@pytest.fixture(scope="module")
def bad_jsonl(tmp_path_factory):
    return write_jsonl(tmp_path_factory.mktemp("bad") / "bad.jsonl", SMALL_DOCS, BAD_LINES)


def test_bad_input_is_counted_not_fatal(bad_jsonl, kb_settings, tmp_path):
    from dataclasses import replace

    settings = replace(kb_settings, max_doc_chars=4000)
    manifest = build_kb(bad_jsonl, tmp_path / "kb", settings, show_progress=False)
    counts = manifest["counts"]
    assert counts["input_records"] == len(SMALL_DOCS) + len(BAD_LINES)
    assert counts["kept"] == len(SMALL_DOCS)
    assert counts["input_records"] == counts["kept"] + counts["skipped"]
    assert counts["skipped_by_reason"] == {"blank": 1, "duplicate_title": 1, "invalid_utf8": 1,
                                           "malformed_json": 1, "missing_field": 1, "too_long": 1}
    with KnowledgeBase.open(tmp_path / "kb") as kb:
        hits, _ = kb.passages_for_titles(["Moon"])
        assert "second Moon page" not in " ".join(h.text for h in hits)


@pytest.mark.parametrize("line_no, reason", [(7, "malformed JSON"), (8, "missing title or text"), (11, "duplicate title")])
def test_strict_fails_on_first_bad_record_with_line(bad_jsonl, kb_settings, tmp_path, line_no, reason):
    rows = bad_jsonl.read_bytes().splitlines(keepends=True)
    path = tmp_path / "one_bad.jsonl"
    path.write_bytes(b"".join(rows[:6] + [rows[line_no - 1]]))
    with pytest.raises(InputError, match=rf"one_bad.jsonl: line 7: bad record \({reason}"):
        build_kb(path, tmp_path / "kb", kb_settings, strict=True, show_progress=False)
    assert not (tmp_path / "kb").exists()                  # nothing published


def test_manifest_records_identity_and_checksums(small_kb):
    m = small_kb.manifest
    assert m["complete"] and m["kind"] == "knowrl-kb"
    assert m["embedder"]["dim"] == 384 and len(m["embedder"]["sha256"]) == 64
    assert set(m["files"]) == {"kb.sqlite", "vectors.f16", "index.faiss"}
    assert m["index"]["type"] == "flat"
    assert m["counts"]["passages"] >= m["counts"]["documents"] == len(SMALL_DOCS)
    assert len(small_kb.manifest_sha256) == 64


def test_stored_vectors_are_normalised_embeddings(small_kb):
    vecs = np.asarray(small_kb.vectors, dtype=np.float32)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=2e-3)
    again = small_kb.encode(["Moon\n" + small_kb.passages_for_titles(["Moon"])[0][0].text])
    assert float(again[0] @ vecs[0]) > 0.999


def test_open_refuses_incomplete_kb(small_kb, tmp_path):
    import shutil

    broken = tmp_path / "kb"
    shutil.copytree(small_kb.path, broken)
    (broken / "manifest.json").unlink()
    with pytest.raises(KnowRLError, match="not a complete KB"):
        KnowledgeBase.open(broken)
    shutil.copy(small_kb.path / "manifest.json", broken / "manifest.json")
    with open(broken / "vectors.f16", "ab") as fh:
        fh.write(b"\0\0")
    with pytest.raises(KnowRLError, match="wrong size"):
        KnowledgeBase.open(broken)
    manifest = json.loads((small_kb.path / "manifest.json").read_text())
    manifest["complete"] = False
    (broken / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(KnowRLError, match="not a complete"):
        KnowledgeBase.open(broken)


def test_existing_kb_needs_force(small_jsonl, small_kb, kb_settings):
    with pytest.raises(KnowRLError, match="--force"):
        build_kb(small_jsonl, small_kb.path, kb_settings, show_progress=False)


def test_forced_compressed_index_types(small_jsonl, kb_settings, tmp_path):
    """Every index type builds and answers on a tiny corpus (PQ with fewer bits, IVF with few lists)."""
    from dataclasses import replace

    for kind in ("hnsw", "ivfsq8", "ivfpq"):
        settings = replace(kb_settings, index=replace(kb_settings.index, type=kind))
        build_kb(small_jsonl, tmp_path / kind, settings, show_progress=False)
        with KnowledgeBase.open(tmp_path / kind) as kb:
            assert kb.manifest["index"]["type"] == kind
            hits = kb.search(["highest mountain in the Himalayas"], k=2, mode="dense")[0]
            assert hits[0].title == "Mount Everest"


def test_moved_kb_finds_the_same_embedder_by_sha256(small_kb, tmp_path):
    import shutil

    moved = tmp_path / "moved"
    shutil.copytree(small_kb.path, moved)
    manifest = json.loads((moved / "manifest.json").read_text())
    manifest["embedder"]["path"] = str(tmp_path / "gone" / "model")          # built on another machine
    (moved / "manifest.json").write_text(json.dumps(manifest))
    with KnowledgeBase.open(moved) as kb:
        assert kb.search(["Eiffel Tower"], k=1)[0][0].title == "Paris"
    manifest["embedder"]["sha256"] = "0" * 64                                 # a different model: refused
    (moved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(KnowRLError, match="no local copy matches"):
        KnowledgeBase.open(moved)
