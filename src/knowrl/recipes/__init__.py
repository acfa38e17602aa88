"""Sibling recipes on the shared core (../shared/docs/RECIPES.md): each reuses the KB, the judges, the GRPO trainer
and the evaluation harness, and adds only its own rollout, rewards, data and loop."""
