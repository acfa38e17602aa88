"""Self-knowledge RL with consensus rewards (RECIPES B): the policy learns which tasks it can and cannot do from
the agreement of its own repeated judgements, on the project's GRPO trainer, checkpoints and evaluation metrics.

``knowrl selfknow run`` runs the iteration loop (:mod:`.loop`); ``knowrl selfknow eval`` compares the base and the
trained policy on the held-out labelled set (:mod:`.report`).
"""
