"""Training: policy loading, cold-start SFT and knowledgeable GRPO (TRL + PEFT), checksummed checkpoints.

Entry points: ``knowrl.train.sft.main(config, ...)`` and ``knowrl.train.grpo.main(config, ...)``; the memory plan
``knowrl.train.memory.plan_memory``. Heavy libraries (torch, transformers, trl) are imported inside functions.
"""
