"""``SHA256SUMS`` files in the coreutils format, so ``sha256sum -c SHA256SUMS`` checks them too."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from knowrl.files import sha256_file, write_text_atomic

SUMS_NAME = "SHA256SUMS"


def write_sums(directory: str | os.PathLike, exclude: tuple[str, ...] = ()) -> Path:
    """Hash every regular file under ``directory`` (recursively, sorted) into ``directory/SHA256SUMS``."""
    root = Path(directory)
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel == SUMS_NAME or rel in exclude or rel.startswith(".") or "/." in rel:
            continue
        lines.append(f"{sha256_file(path)}  {rel}\n")
    out = root / SUMS_NAME
    write_text_atomic(out, "".join(lines))
    return out


@dataclass
class SumsReport:
    checked: int = 0
    mismatched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.mismatched or self.missing or self.unlisted)

    def summary(self) -> str:
        if self.ok:
            return f"OK: {self.checked} files match SHA256SUMS"
        parts = []
        for label, items in (("changed", self.mismatched), ("missing", self.missing),
                             ("not listed", self.unlisted)):
            if items:
                parts.append(f"{label}: {', '.join(items[:5])}" + (" ..." if len(items) > 5 else ""))
        return "FAILED: " + "; ".join(parts)


def verify_sums(directory: str | os.PathLike, allow_unlisted: bool = False) -> SumsReport:
    """Re-hash the files named in ``SHA256SUMS``; also report files that appeared since it was written."""
    root = Path(directory)
    sums_path = root / SUMS_NAME
    report = SumsReport()
    if not sums_path.is_file():
        report.missing.append(SUMS_NAME)
        return report
    listed = {}
    for line in sums_path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, _, rel = line.partition("  ")
            listed[rel] = digest
    for rel, digest in listed.items():
        path = root / rel
        if not path.is_file():
            report.missing.append(rel)
        elif sha256_file(path) != digest:
            report.mismatched.append(rel)
        else:
            report.checked += 1
    if not allow_unlisted:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = path.relative_to(root).as_posix()
            if rel != SUMS_NAME and rel not in listed and not (rel.startswith(".") or "/." in rel):
                report.unlisted.append(rel)
    return report
