"""KnowRL rewards (METHOD 3): format, correctness, factuality and their combination as TRL reward functions.

``format_reward`` is a plain function; the others come from factories bound to one ``RewardScorer`` per run
(``scorer.reward_functions()`` gives the configured variant's list).
"""

from knowrl.rewards.format import completion_text, extract_answer, extract_reasoning, format_reward, is_well_formed
from knowrl.rewards.functions import make_combined_reward, make_correctness_reward, make_factuality_reward
from knowrl.rewards.scorer import Outcome, RewardScorer
from knowrl.rewards.settings import RewardSettings
from knowrl.rewards.values import VARIANTS, RewardValues, fact_score, length_penalty

__all__ = [
    "VARIANTS", "Outcome", "RewardScorer", "RewardSettings", "RewardValues", "completion_text", "extract_answer",
    "extract_reasoning", "fact_score", "format_reward", "is_well_formed", "length_penalty",
    "make_combined_reward", "make_correctness_reward", "make_factuality_reward",
]
