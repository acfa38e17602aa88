"""Reward-test fixtures: a scriptable judge, a scripted fact pipeline, a small KB from a slice of the vital corpus,
and the full vital KB of the kb tests (imported, so it is built once and shared)."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path

import pytest

from knowrl.facts.pipeline import FactRecord, FactResult
from tests.kb.conftest import kb_settings, vital_kb  # noqa: F401  (re-used fixtures)

VITAL_SLICE = 120


class FakeJudge:
    """Grades by a table ``answer -> grade name`` (default INCORRECT); ``fail`` makes every call raise;
    a grade of None is returned as "unparseable"."""

    def __init__(self, grades: dict | None = None, fail: Exception | None = None):
        self.grades = grades or {}
        self.fail = fail
        self.calls = Counter()

    def grade(self, items):
        from knowrl.judge import Grade, GradeResult

        self.calls["grade"] += 1
        self.calls["grade_items"] += len(items)
        if self.fail:
            raise self.fail
        out = []
        for item in items:
            name = self.grades.get(item.prediction, "INCORRECT")
            out.append(GradeResult(None, reason="unparseable: 'maybe'") if name is None else GradeResult(Grade(name)))
        return out

    def decompose(self, texts):
        from knowrl.judge import Decomposition

        self.calls["decompose"] += 1
        if self.fail:
            raise self.fail
        return [Decomposition([s.strip() for s in t.split(".") if s.strip()]) for t in texts]

    def verify(self, items):
        from knowrl.judge import VerifyResult

        if self.fail:
            raise self.fail
        return [VerifyResult("moon" in it.fact.lower()) for it in items]

    def identity(self):
        return {"backend": "fake"}

    def stats(self):
        return dict(self.calls)

    def close(self):
        pass


class ScriptedFacts:
    """A fact pipeline stand-in: text ``"facts:S/N"`` -> N facts of which S are supported; ``"facts:S/N/F"``: the
    last F of them could not be checked (verification failed); ``"facts:fail"``: the decomposition failed."""

    def __init__(self):
        self.requests = []

    def score(self, requests):
        self.requests.extend(requests)
        return [self._one(r.text) for r in requests]

    @staticmethod
    def _one(text):
        spec = text.split("facts:")[-1].split()[0] if "facts:" in text else "0/0"
        if spec == "fail":
            return FactResult(None, reason="judge_error: timeout")
        s, n, failed = ([int(x) for x in spec.split("/")] + [0])[:3]
        return FactResult([FactRecord(f"fact {i}", i < s, 1.0, [i]) if i < n - failed
                           else FactRecord(f"fact {i}", None, None, [i], "verify_error: timeout")
                           for i in range(n)])

    def close(self):
        pass


def make_scorer(variant="code", judge=None, facts=None, **reward):
    from knowrl.rewards import RewardScorer, RewardSettings

    settings = RewardSettings.from_config({"reward": {"variant": variant, **reward}})
    return RewardScorer(settings, judge or FakeJudge(), facts if facts is not None else ScriptedFacts())


def completion(reasoning="facts:0/0", answer="Paris"):
    return f"<think>{reasoning}</think>\n<answer>{answer}</answer>"


@pytest.fixture
def fake_judge():
    return FakeJudge({"Paris": "CORRECT", "I don't know": "NOT_ATTEMPTED", "Lyon": "INCORRECT"})


@pytest.fixture(scope="session")
def rule_judge():
    from knowrl.judge import get_judge

    with get_judge({"backend": "rule", "cache": None}) as judge:
        yield judge


@pytest.fixture(scope="session")
def vital_slice(vital_jsonl, tmp_path_factory) -> Path:
    """The first articles of the vital corpus as a JSONL file."""
    path = tmp_path_factory.mktemp("vital_slice") / "slice.jsonl"
    with open(vital_jsonl, encoding="utf-8") as src, open(path, "w", encoding="utf-8") as dst:
        for line in itertools.islice(src, VITAL_SLICE):
            dst.write(line)
    return path


@pytest.fixture(scope="session")
def slice_kb_path(vital_slice, kb_settings, tmp_path_factory) -> Path:  # noqa: F811
    from knowrl.kb import build_kb

    out = tmp_path_factory.mktemp("slice_kb") / "kb"
    build_kb(vital_slice, out, kb_settings, show_progress=False)
    return out


@pytest.fixture(scope="session")
def slice_kb(slice_kb_path):
    from knowrl.kb import KnowledgeBase

    with KnowledgeBase.open(slice_kb_path) as kb:
        yield kb


@pytest.fixture(scope="session")
def slice_articles(vital_slice) -> list[dict]:
    return [json.loads(line) for line in open(vital_slice, encoding="utf-8")]
