"""KnowRL: knowledge-grounded reinforcement learning for LLM factuality, reproducible and offline."""

__version__ = "0.1.0"
