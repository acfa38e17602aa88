"""KB fixtures: small hand-made corpora, and the vital KB built once and cached across runs.

The vital KB (10,033 articles, ~4-6 min of encoding on 2 cores) lives in ``.cache/kb-tests/<key>/`` where the key
hashes the input identity, the build settings, the embedder and the KB format version, so CI builds it once and
later runs reuse it. A killed build there resumes (the builder is resumable).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from knowrl.files import sha256_json

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("KNOWRL_TEST_CACHE", REPO / ".cache")) / "kb-tests"

SMALL_DOCS = [
    {"title": "Moon", "text": "The Moon is Earth's only natural satellite. It orbits at an average distance of "
     "384,400 km.\n\nThe Moon is tidally locked to Earth. Its surface is covered in craters and maria.",
     "description": "Natural satellite of Earth"},
    {"title": "Sun", "text": "The Sun is the star at the center of the Solar System. It is a nearly perfect "
     "ball of hot plasma. Dr. Hale studied its magnetic fields.", "description": "Star"},
    {"title": "Albert Einstein", "text": ["Albert Einstein was a theoretical physicist.",
     "He developed the theory of relativity. He received the Nobel Prize in Physics in 1921."]},
    {"title": "Paris", "text": "Paris is the capital and largest city of France. The Eiffel Tower was built "
     "in 1889.", "topic": "Geography"},
    {"title": "Python (programming language)", "text": "Python is a high-level programming language. Guido "
     "van Rossum began working on Python in the late 1980s."},
    {"title": "Mount Everest", "text": "Mount Everest is Earth's highest mountain above sea level. Its elevation "
     "is 8,849 metres. It lies in the Himalayas on the border of Nepal and China."},
]


def write_jsonl(path: Path, rows, raw_lines=()) -> Path:
    with open(path, "wb") as fh:
        for row in rows:
            fh.write((json.dumps(row, ensure_ascii=False) + "\n").encode())
        for raw in raw_lines:
            fh.write(raw)
    return path


@pytest.fixture(scope="session")
def kb_settings(embedder_path):
    from knowrl.kb import KBSettings

    return KBSettings(embedder=str(embedder_path))


@pytest.fixture(scope="session")
def small_jsonl(tmp_path_factory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("small") / "small.jsonl", SMALL_DOCS)


@pytest.fixture(scope="session")
def small_kb(tmp_path_factory, small_jsonl, kb_settings):
    from knowrl.kb import KnowledgeBase, build_kb

    out = tmp_path_factory.mktemp("small_kb") / "kb"
    build_kb(small_jsonl, out, kb_settings, show_progress=False)
    with KnowledgeBase.open(out) as kb:
        yield kb


def vital_kb_path(vital_jsonl: Path, kb_settings) -> Path:
    from knowrl.kb.build import FORMAT_VERSION
    from knowrl.kb.embedder import folder_sha256
    from knowrl.kb.sources import file_identity

    ident = file_identity(vital_jsonl)
    key = sha256_json({"input": {k: ident[k] for k in ("bytes", "head_tail_sha256")},
                       "settings": kb_settings.build_fingerprint(), "format": FORMAT_VERSION,
                       "embedder": folder_sha256(str(kb_settings.embedder_path()))})[:16]
    return CACHE / key / "vital"


@pytest.fixture(scope="session")
def vital_kb(vital_jsonl, kb_settings):
    """The whole vital corpus as a KB (built on first use, then reused from the cache)."""
    from knowrl.kb import KnowledgeBase, build_kb

    out = vital_kb_path(vital_jsonl, kb_settings)
    if not (out / "manifest.json").is_file():
        build_kb(vital_jsonl, out, kb_settings, show_progress=False)
    with KnowledgeBase.open(out) as kb:
        yield kb
