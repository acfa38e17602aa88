"""Atomic facts, evidence and verification (METHOD 3.3): the factuality half of the KnowRL reward."""

from knowrl.facts.cache import FactCache, cache_key
from knowrl.facts.decompose import FactList, JudgeDecomposer, RuleDecomposer, clean_facts, fact_key
from knowrl.facts.evidence import Evidence, EvidenceRetriever, TitleLookup, split_title_field
from knowrl.facts.pipeline import FactPipeline, FactRecord, FactRequest, FactResult
from knowrl.facts.settings import FactsSettings, VerifierSettings
from knowrl.facts.verify import VERIFIERS, EmbeddingVerifier, LLMVerifier, Verdict, Verifier, build_verifier

__all__ = [
    "VERIFIERS", "EmbeddingVerifier", "Evidence", "EvidenceRetriever", "FactCache", "FactList", "FactPipeline",
    "FactRecord", "FactRequest", "FactResult", "FactsSettings", "JudgeDecomposer", "LLMVerifier", "RuleDecomposer",
    "TitleLookup", "Verdict", "Verifier", "VerifierSettings", "build_verifier", "cache_key", "clean_facts",
    "fact_key", "split_title_field",
]
