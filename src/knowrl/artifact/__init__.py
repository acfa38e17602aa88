"""Artifact integrity: SHA256SUMS next to every checkpoint and table, provenance records, staging bundles."""

from knowrl.artifact.checksums import verify_sums, write_sums
from knowrl.artifact.provenance import provenance

__all__ = ["provenance", "verify_sums", "write_sums"]
