"""Kill-and-resume: a build SIGKILLed mid-ingest and mid-encode resumes to the same KB as an uninterrupted one."""

from __future__ import annotations

import itertools
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing

import numpy as np
import pytest

from knowrl.errors import KnowRLError
from knowrl.kb import KnowledgeBase, build_kb


def _build_cmd(src, out, embedder):
    return [sys.executable, "-m", "knowrl", "-q", "kb", "build", "--input", str(src), "--out", str(out),
            "--embedder", str(embedder), "--batch-size", "2", "--no-progress"]


def _run(cmd, kill_at=None):
    env = {**os.environ, "KNOWRL_KB_INGEST_CHUNK": "10"}
    if kill_at:
        env["KNOWRL_KB_KILL_AT"] = kill_at
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


def test_killed_build_resumes_to_identical_kb(vital_jsonl, embedder_path, kb_settings, tmp_path, caplog):
    from dataclasses import replace

    src = tmp_path / "slice.jsonl"
    with open(vital_jsonl, encoding="utf-8") as fh:
        src.write_text("".join(itertools.islice(fh, 50)), encoding="utf-8")
    out = tmp_path / "kb"
    cmd = _build_cmd(src, out, embedder_path)

    first = _run(cmd, kill_at="ingest:2")                 # killed after 20 of 50 records were committed
    assert first.returncode == -signal.SIGKILL, first.stderr
    assert not out.exists() and (tmp_path / "kb.partial").is_dir()
    with pytest.raises(KnowRLError, match="interrupted build"):
        KnowledgeBase.open(out)

    second = _run(cmd, kill_at="encode:1")                # resumes ingest, killed after 1 of 2 encode chunks
    assert second.returncode == -signal.SIGKILL, second.stderr
    with closing(sqlite3.connect(tmp_path / "kb.partial" / "kb.sqlite")) as conn:  # ingest done, 1 chunk encoded
        state = dict(conn.execute("SELECT key, value FROM state").fetchall())
    assert json.loads(state["ingest"])["done"] and json.loads(state["encoded"]) == 32

    settings = replace(kb_settings, embed_batch_size=2)
    with caplog.at_level(logging.INFO, logger="knowrl.kb.build"):
        build_kb(src, out, settings, show_progress=False)  # same input + settings: resumes in-process
    assert "resuming the build" in caplog.text
    fresh = tmp_path / "fresh"
    build_kb(src, fresh, settings, show_progress=False)
    with KnowledgeBase.open(out) as resumed, KnowledgeBase.open(fresh) as reference:
        assert resumed.manifest["counts"] == reference.manifest["counts"]
        assert resumed.manifest["counts"]["input_records"] == 50
        assert np.allclose(np.asarray(resumed.vectors, np.float32), np.asarray(reference.vectors, np.float32),
                           atol=2e-3)
        queries = ["science fiction film by Kubrick", "classical music of the 20th century"]
        for mode in ("dense", "bm25", "hybrid"):
            got = [[h.passage_id for h in hs] for hs in resumed.search(queries, k=5, mode=mode)]
            want = [[h.passage_id for h in hs] for hs in reference.search(queries, k=5, mode=mode)]
            assert got == want, mode
