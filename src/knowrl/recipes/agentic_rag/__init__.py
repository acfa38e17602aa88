"""Recipe agentic_rag (../shared/docs/RECIPES.md A, Knowledge-R1 / Search-R1): the policy searches the KB over
several turns (``<search>`` -> ``<information>`` -> ... -> ``<answer>``) inside GRPO and is rewarded for the final
answer. Built on the core: the KB's search, ``knowrl.train.grpo``'s setup / train / save, checkpoint sealing,
``knowrl.eval``'s bootstrap CIs, tables and plots."""

from knowrl.recipes.agentic_rag.protocol import Action, parse_action, prompt_messages
from knowrl.recipes.agentic_rag.rewards import RagRewards, exact_match, normalize_answer, token_f1, well_formed
from knowrl.recipes.agentic_rag.rollout import Rollout, Trajectory, make_rollout_func
from knowrl.recipes.agentic_rag.settings import RagSettings

__all__ = ["Action", "RagRewards", "RagSettings", "Rollout", "Trajectory", "exact_match", "make_rollout_func",
           "normalize_answer", "parse_action", "prompt_messages", "token_f1", "well_formed"]
