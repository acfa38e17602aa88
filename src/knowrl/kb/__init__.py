"""Knowledge base: passages in SQLite (+FTS5 for BM25) and a FAISS index of their embeddings (METHOD 6).

Heavy libraries (faiss, sentence-transformers) load on first use, not at import.
"""

import logging

from knowrl.kb.build import build_kb, import_upstream
from knowrl.kb.knowledge_base import Hit, KnowledgeBase, rrf, split_titles
from knowrl.kb.passages import PassageSplitter, split_sentences
from knowrl.kb.settings import IndexSettings, KBSettings, SearchSettings
from knowrl.kb.upstream import export_upstream

logging.getLogger("faiss.loader").setLevel(logging.WARNING)  # its INFO lines about AVX builds are noise

__all__ = ["Hit", "IndexSettings", "KBSettings", "KnowledgeBase", "PassageSplitter", "SearchSettings",
           "build_kb", "export_upstream", "import_upstream", "rrf", "split_sentences", "split_titles"]
