"""The ``facts`` config section as small typed objects (defaults mirror config.schema.json)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from knowrl.errors import ConfigError

DECOMPOSERS = ("judge", "rule")
RETRIEVAL_MODES = ("dense", "bm25", "hybrid")
VERIFIER_DEFAULT_THRESHOLDS = {"nli": 0.3, "embedding": 0.6, "llm": None}


@dataclass(frozen=True)
class VerifierSettings:
    backend: str = "embedding"       # nli | llm | embedding
    model: str | None = None         # nli: a local sequence-classification model folder
    threshold: float | None = None   # None = the backend's default (nli 0.3 P(entailment), embedding 0.6 cosine)
    device: str = "cpu"              # never the training GPU unless set
    batch_size: int = 32
    max_length: int = 512            # nli truncation (premise = passage, hypothesis = fact)

    def resolved_threshold(self) -> float | None:
        return self.threshold if self.threshold is not None else VERIFIER_DEFAULT_THRESHOLDS.get(self.backend)


@dataclass(frozen=True)
class CacheSettings:
    path: str | None = None          # SQLite file for retrievals, verdicts and decompositions; None = memory only
    memory_items: int = 100_000      # bounded in-memory front per table
    memory_mb: float = 256.0         # ... and bounded in MB of the values' JSON length per table


@dataclass(frozen=True)
class FactsSettings:
    decomposer: str = "judge"        # judge (judge.decompose) | rule (sentence splitter, no model)
    decompose_unit: str = "text"     # text (whole reasoning, METHOD 3.3) | sentence (FActScore-style, cached)
    k: int = 5                       # passages per fact
    min_words: int = 3               # facts with fewer words are dropped
    dedupe: bool = True              # one retrieval + verification per distinct fact of a prompt's group
    retrieval_mode: str = "hybrid"   # dense | bm25 | hybrid
    query_with_title: bool = True    # query "<all titles> <fact>" (upstream: its one title); False = the fact alone
    kb_path: str | None = "results/kb"
    verifier: VerifierSettings = field(default_factory=VerifierSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)

    def __post_init__(self) -> None:
        if self.decomposer not in DECOMPOSERS:
            raise ConfigError(f"facts.decomposer {self.decomposer!r} is not one of {', '.join(DECOMPOSERS)}")
        if self.decompose_unit not in ("text", "sentence"):
            raise ConfigError(f"facts.decompose_unit {self.decompose_unit!r} is not 'text' or 'sentence'")
        if self.retrieval_mode not in RETRIEVAL_MODES:
            raise ConfigError(f"facts.retrieval_mode {self.retrieval_mode!r} is not one of "
                              f"{', '.join(RETRIEVAL_MODES)}")
        if self.k < 1 or self.min_words < 1:
            raise ConfigError("facts.k and facts.min_words must be >= 1")

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> "FactsSettings":
        """From the whole resolved config or its ``facts`` section."""
        section = dict((config or {}).get("facts", config or {}))
        verifier = VerifierSettings(**section.pop("verifier", {}))
        cache = CacheSettings(**section.pop("cache", {}))
        known = {k: v for k, v in section.items() if k in cls.__dataclass_fields__}
        return cls(verifier=verifier, cache=cache, **known)
