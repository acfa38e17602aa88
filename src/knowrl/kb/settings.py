"""The ``kb`` config section as a small typed object, so build and search code never index raw dicts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from knowrl.errors import ConfigError

INDEX_TYPES = ("auto", "flat", "hnsw", "ivfsq8", "ivfpq")
MODES = ("dense", "bm25", "hybrid")


@dataclass(frozen=True)
class IndexSettings:
    type: str = "auto"               # auto | flat | hnsw | ivfsq8 | ivfpq
    memory_budget_mb: int = 4096     # resident memory the FAISS index may use
    hnsw_m: int = 32
    hnsw_ef_search: int = 128
    nlist: int | None = None         # IVF lists; None = about 4*sqrt(N)
    nprobe: int = 32
    pq_m: int | None = None          # PQ sub-quantizers; None = dim/8
    rerank: int = 100                # compressed-index candidates re-scored exactly (0 = off)
    train_sample: int = 100_000

    def __post_init__(self) -> None:
        if self.type not in INDEX_TYPES:
            raise ConfigError(f"kb.index.type {self.type!r} is not one of {', '.join(INDEX_TYPES)}")


@dataclass(frozen=True)
class SearchSettings:
    mode: str = "hybrid"
    k: int = 5
    rrf_k: int = 60
    candidates: int = 50             # per retriever before fusion

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"kb.search.mode {self.mode!r} is not one of {', '.join(MODES)}")


@dataclass(frozen=True)
class DumpSettings:
    """Reading a MediaWiki XML dump (``kb.dump``)."""
    index: str | None = None         # multistream index; None = found beside the dump by its name, if there
    processes: int = 1               # worker processes parsing wikitext (does not change the KB)
    link_neighbourhood: bool = False  # with titles_from: also keep the pages the selected pages link to

    def __post_init__(self) -> None:
        if self.processes < 1:
            raise ConfigError(f"kb.dump.processes must be >= 1, not {self.processes}")


@dataclass(frozen=True)
class KBSettings:
    embedder: str | None = None      # sentence-transformers folder; None = the embedded asset
    device: str = "cpu"
    passage_tokens: int = 256
    embed_batch_size: int = 64
    max_doc_chars: int = 2_000_000
    titles_from: str | None = None   # keep only the pages these titles name (RL data JSON or a title list)
    index: IndexSettings = field(default_factory=IndexSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    dump: DumpSettings = field(default_factory=DumpSettings)

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> "KBSettings":
        """Build from the whole resolved config (or its ``kb`` section); unknown keys are ignored here
        because the schema already rejected typos."""
        section = dict((config or {}).get("kb", config or {}))
        index = IndexSettings(**section.pop("index", {}))
        search = SearchSettings(**section.pop("search", {}))
        dump = DumpSettings(**section.pop("dump", {}))
        known = {k: v for k, v in section.items() if k in cls.__dataclass_fields__}
        return cls(index=index, search=search, dump=dump, **known)

    def embedder_path(self) -> Path:
        if self.embedder:
            return Path(self.embedder)
        from knowrl.assets import AssetStore

        return AssetStore().path("embedder")

    def build_fingerprint(self) -> dict[str, Any]:
        """Settings that change the built KB (search settings and device do not; the title selection and dump
        options are part of the source's identity, so KBs built without them keep their fingerprint)."""
        data = asdict(self)
        for key in ("search", "device", "embedder", "dump", "titles_from"):
            data.pop(key)
        return data
